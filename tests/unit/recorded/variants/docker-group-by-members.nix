# docker membership through users.groups.docker.members instead of extraGroups.
{ lib, ... }:
{
  users.users.dev.extraGroups = lib.mkForce [ "wheel" ];
  users.groups.docker.members = [ "dev" ];
}
