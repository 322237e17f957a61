# GRUB and systemd-boot both enabled.
{ lib, ... }:
{
  boot.loader.grub.enable = lib.mkForce true;
  boot.loader.systemd-boot.enable = true;
}
