# sshd listening on 0.0.0.0 (listenAddresses).
{ ... }:
{
  services.openssh.listenAddresses = [ { addr = "0.0.0.0"; } ];
}
