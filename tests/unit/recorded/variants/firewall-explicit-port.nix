# port 22 opened by networking.firewall.allowedTCPPorts instead of openFirewall.
{ lib, ... }:
{
  services.openssh.openFirewall = lib.mkForce false;
  networking.firewall.allowedTCPPorts = [ 22 ];
}
