# nixosConfigurations: the shared VM configuration plus only the platform.
# The platform is set here, not in vm-shared.nix: inside runNixOSTest nodes
# the `nixpkgs.*` options are read-only. vm-shared.nix picks a boot loader
# that exists on this platform (BIOS GRUB on x86_64, systemd-boot on aarch64)
# from pkgs.stdenv.hostPlatform, so both configurations come from that one file.
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
