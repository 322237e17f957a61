# the test user left out of wheel.
{ lib, ... }:
{
  users.users.dev.extraGroups = lib.mkForce [ "docker" ];
}
