# sshd on port 2222 only.
{ lib, ... }:
{
  services.openssh.ports = lib.mkForce [ 2222 ];
}
