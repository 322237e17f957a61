# no file system mounted on /.
{ lib, ... }:
{
  fileSystems = lib.mkForce { };
}
