# port 22 opened on eth0 only.
{ lib, ... }:
{
  services.openssh.openFirewall = lib.mkForce false;
  networking.firewall.interfaces.eth0.allowedTCPPorts = [ 22 ];
}
