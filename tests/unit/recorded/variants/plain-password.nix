# password (clear text) instead of initialPassword.
{ ... }:
{
  vmtest.testUser.initialPassword = null;
  users.users.dev.password = "dev";
}
