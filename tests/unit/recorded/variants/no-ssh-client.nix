# programs.ssh.package is not an OpenSSH (no OpenSSH client installed).
{ pkgs, ... }:
{
  programs.ssh.package = pkgs.dropbear;
}
