# What the recorded evaluations add to every configuration, and why: the
# tree they read has no Haskell package set (its over-4-MiB
# pkgs/development/haskell-modules/hackage-packages.nix is a stub, `self: { }`),
# so every package that reads one fails to evaluate with a missing attribute,
# which no tryEval can catch. Two are reached from the recorded systems:
#
# - shellcheck-minimal: writeShellApplication (trivial-builders, nixos-24.11)
#   reads `shellcheck-minimal.compiler` to decide whether to run shellcheck in
#   its checkPhase; nixos-firewall-tool is such an application. A shellcheck
#   whose compiler runs on no platform is nixpkgs' own way out
#   (lib.meta.availableOn: "GHC (=> shellcheck) isn't supported on some
#   platforms"): the check phase is left out.
# - pandoc: sudo-rs builds its manual pages with it (a native build input).
#
# Either changes only the store paths of the system, never an option value.
{
  nixpkgs.overlays = [
    (_final: prev: {
      shellcheck-minimal = prev.emptyDirectory // {
        compiler.meta.platforms = [ ];
      };
      pandoc = prev.emptyDirectory;
    })
  ];
}
