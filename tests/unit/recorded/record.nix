# One real evaluation for the recordings: machines/nixos/vm-shared.nix plus a
# variant module, evaluated by a complete nixpkgs tree as the flake's
# nixosConfigurations are (nixos/lib/eval-config.nix, which
# nixpkgs.lib.nixosSystem calls; the platform set beside vm-shared.nix, as
# nix/nixos-configurations.nix does), then turned into the rules' data by
# ../extract.nix. Nothing is built; the tree is only read.
#
#   nix eval --impure --json --file tests/unit/recorded/record.nix \
#     --arg nixpkgs /path/to/nixpkgs --argstr variant sudo-rs
#
# Run through ./record.sh, which records every variant of ./variants.nix.
{
  # A complete nixpkgs tree, as a path (a path, not a string: it is read in
  # place, never copied).
  nixpkgs,
  # A name from ./variants.nix.
  variant,
}:
let
  v = (import ./variants.nix).${variant};
  platform = v.platform or "x86_64-linux";
  name = if platform == "aarch64-linux" then "vm-aarch64" else "vm";
  nixos = import (nixpkgs + "/nixos/lib/eval-config.nix") {
    system = null;
    modules = [
      ../../../machines/nixos/vm-shared.nix
      { nixpkgs.hostPlatform = platform; }
      ./stand-ins.nix
    ] ++ (if v ? module then [ v.module ] else [ ]);
  };
in
{
  inherit name platform;
  inherit (v) description;
  data = import ../extract.nix {
    inherit name nixos;
    expectedPlatform = platform;
  };
}
