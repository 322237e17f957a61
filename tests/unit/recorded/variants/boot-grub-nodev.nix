# GRUB with device "nodev" and no EFI.
{ lib, ... }:
{
  boot.loader.grub.device = lib.mkForce "nodev";
}
