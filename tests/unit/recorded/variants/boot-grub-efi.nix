# GRUB for EFI (nodev, efiSupport) with an EFI system partition.
{ lib, ... }:
{
  boot.loader.grub = {
    device = lib.mkForce "nodev";
    efiSupport = true;
  };
  fileSystems."/boot" = {
    device = "/dev/disk/by-label/ESP";
    fsType = "vfat";
  };
}
