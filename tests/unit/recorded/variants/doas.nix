# doas instead of sudo.
{ lib, ... }:
{
  security.sudo.enable = lib.mkForce false;
  security.doas.enable = true;
}
