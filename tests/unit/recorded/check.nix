# The quick tier's check (../default.nix, the code behind the flake's
# checks.<system>.unit-vm-analysis) on real evaluations of vm-shared.nix by a
# complete nixpkgs tree, with the tree read in place (no flake input to copy)
# and ./stand-ins.nix added, optionally with a variant of ./variants.nix
# layered on both configurations. For verifying the check on a real tree:
#
#   nix build --impure -f tests/unit/recorded/check.nix --arg nixpkgs /path/to/nixpkgs \
#     [--argstr variant no-docker] -L
{
  nixpkgs,
  variant ? null,
  system ? builtins.currentSystem,
}:
let
  extra = if variant == null then [ ] else [ (import ./variants.nix).${variant}.module ];
  vm =
    platform:
    import (nixpkgs + "/nixos/lib/eval-config.nix") {
      system = null;
      modules = [
        ../../../machines/nixos/vm-shared.nix
        { nixpkgs.hostPlatform = platform; }
        ./stand-ins.nix
      ] ++ extra;
    };
in
(import ../default.nix {
  inherit system;
  nixosConfigurations = {
    vm = vm "x86_64-linux";
    vm-aarch64 = vm "aarch64-linux";
  };
}).unit-vm-analysis
