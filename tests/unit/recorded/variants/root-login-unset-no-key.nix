# PermitRootLogin = null (left out: OpenSSH's default prohibit-password), root has no key.
{ lib, ... }:
{
  services.openssh.settings.PermitRootLogin = lib.mkForce null;
}
