# a key-only test user, doas instead of sudo with a nopass rule for the user.
{ lib, ... }:
{
  vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ]; };
  security.sudo.enable = lib.mkForce false;
  security.doas = {
    enable = true;
    extraRules = [
      {
        users = [ "dev" ];
        noPass = true;
      }
    ];
  };
}
