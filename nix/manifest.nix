# The check manifest: plain data describing every check of the flake.
# Builtins only, and no NixOS configuration is evaluated, so
# `nix eval --json .#lib.vmtestManifest` is instant and works offline.
# Each tier owns its entries; nix/checks.nix builds `checks` from this list,
# so the manifest is the one source of truth for check names.
{
  schemaVersion = 1;
  checks = import ../tests/unit/manifest-entries.nix ++ import ../tests/e2e/manifest-entries.nix;
}
