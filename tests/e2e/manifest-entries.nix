# Manifest entries of the full tier (schema in nix/manifest.nix and DESIGN.md).
# Builtins only; names, descriptions and timeouts come from suite.json, subtests
# from the checks' scripts (see suite.nix).
(import ./suite.nix).manifestEntries
