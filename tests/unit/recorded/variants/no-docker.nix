# Docker turned off.
{ lib, ... }:
{
  virtualisation.docker.enable = lib.mkForce false;
}
