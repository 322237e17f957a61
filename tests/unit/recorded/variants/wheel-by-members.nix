# wheel membership through users.groups.wheel.members instead of extraGroups.
{ lib, ... }:
{
  users.users.dev.extraGroups = lib.mkForce [ "docker" ];
  users.groups.wheel.members = [ "dev" ];
}
