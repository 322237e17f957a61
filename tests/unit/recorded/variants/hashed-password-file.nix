# hashedPasswordFile instead of initialPassword.
{ ... }:
{
  vmtest.testUser.initialPassword = null;
  users.users.dev.hashedPasswordFile = "/run/secrets/dev-password";
}
