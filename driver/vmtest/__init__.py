"""nixos-vmtest: select, run and report the NixOS VM test checks of a flake."""

__version__ = "0.1.0"
