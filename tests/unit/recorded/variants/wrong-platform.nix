# nixpkgs.hostPlatform forced to aarch64-linux in the x86_64 configuration.
{ lib, pkgs, ... }:
{
  nixpkgs.hostPlatform = lib.mkForce "aarch64-linux";
}
