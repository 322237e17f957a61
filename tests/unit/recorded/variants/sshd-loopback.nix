# sshd listening on 127.0.0.1 only.
{ ... }:
{
  services.openssh.listenAddresses = [ { addr = "127.0.0.1"; } ];
}
