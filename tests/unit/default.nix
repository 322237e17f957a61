# The quick tier: checks.<system>.unit-vm-analysis.
#
# Evaluates the Linux VM configurations (vm and vm-aarch64 on every system,
# darwin included: evaluation needs no Linux builder) and applies the rules
# of ./rules.nix to them at evaluation time. The derivation only prints the
# report (./check.nix): it fails listing every error finding, or writes the
# report to $out.
{ system, nixosConfigurations }:
let
  analysed = [
    {
      name = "vm";
      expectedPlatform = "x86_64-linux";
    }
    {
      name = "vm-aarch64";
      expectedPlatform = "aarch64-linux";
    }
  ];
in
{
  unit-vm-analysis = import ./check.nix {
    inherit system;
    configs = map (c: {
      inherit (c) name;
      data = import ./extract.nix {
        inherit (c) name expectedPlatform;
        nixos = nixosConfigurations.${c.name};
      };
    }) analysed;
  };
}
