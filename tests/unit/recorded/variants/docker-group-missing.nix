# the test user left out of the docker group.
{ lib, ... }:
{
  users.users.dev.extraGroups = lib.mkForce [ "wheel" ];
}
