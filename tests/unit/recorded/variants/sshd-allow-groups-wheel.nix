# a key-only test user in a group sshd's AllowGroups names.
{ lib, ... }:
{
  vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ]; };
  security.sudo.wheelNeedsPassword = lib.mkForce false;
  services.openssh.settings.AllowGroups = [ "wheel" ];
}
