# sshd listening on 0.0.0.0 and [::].
{ ... }:
{
  services.openssh.listenAddresses = [
    { addr = "0.0.0.0"; }
    { addr = "[::]"; }
  ];
}
