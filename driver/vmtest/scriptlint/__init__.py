"""Offline type check and lint of the VM test scripts, as nixpkgs checks them in the build."""
