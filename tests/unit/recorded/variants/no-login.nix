# the test user has neither a key nor a password.
{ ... }:
{
  vmtest.testUser.initialPassword = null;
}
