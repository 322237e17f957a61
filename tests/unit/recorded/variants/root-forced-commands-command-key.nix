# PermitRootLogin = "forced-commands-only", root's key has command=.
{ lib, ... }:
{
  services.openssh.settings.PermitRootLogin = lib.mkForce "forced-commands-only";
  users.users.root.openssh.authorizedKeys.keys = [ ''command="/run/current-system/sw/bin/true" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZtdGVzdFJlY29yZGluZ0tleU5vdEZvclVzZTAwMDAw dev@vmtest'' ];
}
