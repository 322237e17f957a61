# sshd's port not opened in the firewall.
{ lib, ... }:
{
  services.openssh.openFirewall = lib.mkForce false;
}
