"""Model of the NixOS test driver package (see ../prelude.py); never executed."""
