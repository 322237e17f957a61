# PermitRootLogin = "prohibit-password" and a key for root.
{ lib, ... }:
{
  services.openssh.settings.PermitRootLogin = lib.mkForce "prohibit-password";
  users.users.root.openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ];
}
