# a renamed option (services.openssh.kbdInteractiveAuthentication): NixOS warns.
{ ... }:
{
  services.openssh.kbdInteractiveAuthentication = false;
}
