# a key-only test user, a NOPASSWD sudo rule for wheel in extraRules.
{ ... }:
{
  vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ]; };
  security.sudo.extraRules = [
    {
      groups = [ "wheel" ];
      commands = [
        {
          command = "ALL";
          options = [ "NOPASSWD" ];
        }
      ];
    }
  ];
}
