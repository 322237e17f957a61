# a key-only test user, a NOPASSWD sudo rule for the user in extraRules.
{ ... }:
{
  vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ]; };
  security.sudo.extraRules = [
    {
      users = [ "dev" ];
      commands = [
        {
          command = "ALL";
          options = [ "NOPASSWD" ];
        }
      ];
    }
  ];
}
