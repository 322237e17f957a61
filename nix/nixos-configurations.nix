# nixosConfigurations: the shared VM configuration plus only the platform.
# The platform is set here, not in vm-shared.nix: inside runNixOSTest nodes
# the `nixpkgs.*` options are read-only.
{ nixpkgs }:
let
  vm =
    hostPlatform:
    nixpkgs.lib.nixosSystem {
      modules = [
        ../machines/nixos/vm-shared.nix
        { nixpkgs.hostPlatform = hostPlatform; }
      ];
    };
in
{
  vm = vm "x86_64-linux";
  vm-aarch64 = vm "aarch64-linux";
}
