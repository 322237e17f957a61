# hashedPassword = "!" (locked) and no key.
{ ... }:
{
  vmtest.testUser.initialPassword = null;
  users.users.dev.hashedPassword = "!";
}
