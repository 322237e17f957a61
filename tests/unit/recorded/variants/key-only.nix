# a key-only test user, sudo asks wheel for a password.
{ ... }:
{
  vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest" ]; };
}
