# systemd-boot on x86_64 with an EFI system partition.
{ ... }:
{
  boot.loader.systemd-boot.enable = true;
  fileSystems."/boot" = {
    device = "/dev/disk/by-label/ESP";
    fsType = "vfat";
  };
}
