# the firewall turned off.
{ lib, ... }:
{
  networking.firewall.enable = lib.mkForce false;
}
