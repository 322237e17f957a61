# hashedPassword (a SHA-512 crypt hash) instead of initialPassword.
{ ... }:
{
  vmtest.testUser.initialPassword = null;
  users.users.dev.hashedPassword = "$6$vmtestsalt$9e9eU8Fw3RnQ2LeeBhj87FN1RrFnj37xKz31pp/GeipuEqgD.umZ9TD6rcVcj0RFdOoHbbTmqRSc.6UHurCM30";
}
