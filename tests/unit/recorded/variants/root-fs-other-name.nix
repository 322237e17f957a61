# the root file system under another attribute name (mountPoint = "/").
{ lib, ... }:
{
  fileSystems = lib.mkForce {
    rootfs = {
      mountPoint = "/";
      device = "/dev/disk/by-label/nixos";
      fsType = "ext4";
    };
  };
}
