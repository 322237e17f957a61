# Manifest entries of the full tier (schema: nix/manifest.nix, and the pydantic model in driver/vmtest/checks/manifest.py).
# Builtins only; names, descriptions and timeouts come from suite.json, subtests
# from the checks' scripts (see suite.nix).
(import ./suite.nix).manifestEntries
