# sudo turned off, no other tool.
{ lib, ... }:
{
  security.sudo.enable = lib.mkForce false;
}
