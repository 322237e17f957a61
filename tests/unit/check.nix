# The unit-vm-analysis derivation, built from plain config-shaped data.
#
# Findings are computed at evaluation time; the derivation only prints them.
# It is a raw `derivation` with /bin/sh as builder and shell builtins only (no
# stdenv, no coreutils), so a cold machine fetches nothing but the nixpkgs
# source to run the quick tier, on Linux and macOS alike.
#
# `configs` is a list of `{ name; data; }` (see ./rules.nix for the data).
# tests/unit/default.nix feeds it data extracted from nixosConfigurations;
# the pytest suite feeds it fixture data through this same file.
{
  system,
  configs,
  # How the user prints the failing log (the flake's attribute by default).
  logCommand ? "nix log .#checks.${system}.unit-vm-analysis",
}:
let
  r = import ./rules.nix;
  analyse = import ./analyse.nix;
  report = import ./report.nix {
    inherit logCommand;
    ruleCount = builtins.length r.rules;
    # The data is forced before the rules run, so an error in the configuration
    # is reported from reading it (./extract.nix), never from inside a rule.
    analyses = map (c: {
      inherit (c) name;
      findings = builtins.seq c.data (analyse c.data);
    }) configs;
  };
in
derivation {
  name = "unit-vm-analysis";
  inherit system;
  builder = "/bin/sh";
  args = [
    "-c"
    ''
      if [ -n "$failed" ]; then
        printf '%s' "$failureText" >&2
        exit 1
      fi
      printf '%s' "$successText" >&2
      printf '%s' "$successText" > "$out"
    ''
  ];
  failed = if report.failed then "1" else "";
  inherit (report) failureText successText;
  preferLocalBuild = true;
  allowSubstitutes = false;
}
// {
  # The findings as data, for `nix eval` (reading them builds nothing).
  findings = {
    inherit (report) errors warnings;
  };
}
