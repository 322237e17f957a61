# port 22 closed, eth0 trusted.
{ lib, ... }:
{
  services.openssh.openFirewall = lib.mkForce false;
  networking.firewall.trustedInterfaces = [ "eth0" ];
}
