# sshd turned off.
{ lib, ... }:
{
  services.openssh.enable = lib.mkForce false;
}
