# checks.<system>: one attribute per manifest entry that lists <system>.
# The attribute names come from the manifest (builtins only), so listing the
# checks needs no nixpkgs; a manifest entry without an implementation fails
# with a clear message when it is built.
{
  self,
  nixpkgs,
  system,
  manifest,
}:
let
  quick = import ../tests/unit {
    inherit system;
    inherit (self) nixosConfigurations;
  };
  full =
    if system == "x86_64-linux" then
      import ../tests/e2e/nixos-vm-test.nix {
        inherit (nixpkgs) lib;
        pkgs = nixpkgs.legacyPackages.${system};
        inherit system self;
      }
    else
      { };
  implementations = quick // full;
  forThisSystem = builtins.filter (check: builtins.elem system check.systems) manifest.checks;
in
builtins.listToAttrs (
  map (check: {
    inherit (check) name;
    value =
      implementations.${check.name}
        or (throw "vmtestManifest lists check '${check.name}' for ${system}, but nix/checks.nix has no implementation for it");
  }) forThisSystem
)
