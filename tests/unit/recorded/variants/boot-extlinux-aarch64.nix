# generic-extlinux-compatible on aarch64.
{ lib, ... }:
{
  boot.loader.systemd-boot.enable = lib.mkForce false;
  boot.loader.generic-extlinux-compatible.enable = true;
  # As nixpkgs' sd-image-aarch64.nix writes it: the extlinux module does not
  # turn GRUB off itself (nixos-24.11).
  boot.loader.grub.enable = false;
}
