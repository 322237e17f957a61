# sshd listening on [::] only (a v6-only socket in sshd).
{ ... }:
{
  services.openssh.listenAddresses = [ { addr = "[::]"; } ];
}
