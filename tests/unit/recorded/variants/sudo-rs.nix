# sudo-rs instead of sudo.
{ lib, ... }:
{
  security.sudo.enable = lib.mkForce false;
  security.sudo-rs.enable = true;
}
