# KbdInteractiveAuthentication forced on.
{ lib, ... }:
{
  services.openssh.settings.KbdInteractiveAuthentication = lib.mkForce true;
}
