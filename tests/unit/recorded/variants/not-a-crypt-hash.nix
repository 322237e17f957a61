# hashedPassword that is no crypt hash (NixOS warns the user may be locked out), no key.
{ ... }:
{
  vmtest.testUser.initialPassword = null;
  users.users.dev.hashedPassword = "dev";
}
