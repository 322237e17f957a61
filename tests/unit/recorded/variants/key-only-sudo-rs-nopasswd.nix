# a key-only test user, sudo-rs instead of sudo, wheelNeedsPassword = false.
{ lib, ... }:
{
  vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ]; };
  security.sudo.enable = lib.mkForce false;
  security.sudo-rs = {
    enable = true;
    wheelNeedsPassword = false;
  };
}
