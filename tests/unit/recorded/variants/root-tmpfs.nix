# a tmpfs root file system.
{ lib, ... }:
{
  fileSystems."/" = lib.mkForce {
    device = "none";
    fsType = "tmpfs";
  };
}
