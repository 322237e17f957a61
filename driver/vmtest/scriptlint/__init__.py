"""Offline type check and lint of the VM test scripts, the way nixpkgs checks them in the build."""
