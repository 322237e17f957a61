# a listenAddresses entry without addr.
{ ... }:
{
  services.openssh.listenAddresses = [ { port = 22; } ];
}
