# passwords allowed on purpose (vmtest.allowPasswordAuthentication).
{ ... }:
{
  vmtest.allowPasswordAuthentication = true;
}
