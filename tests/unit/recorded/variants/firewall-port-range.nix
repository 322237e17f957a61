# port 22 opened by a range instead of openFirewall.
{ lib, ... }:
{
  services.openssh.openFirewall = lib.mkForce false;
  networking.firewall.allowedTCPPortRanges = [
    {
      from = 20;
      to = 23;
    }
  ];
}
