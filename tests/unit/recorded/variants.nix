# The configurations recorded in ./real-evaluations.json: the real
# machines/nixos/vm-shared.nix alone (`vm`, `vm-aarch64`), and with one small
# NixOS module of ./variants/ layered on it, named after the file and
# described by its first line. For every rule, configurations that break it
# and valid alternatives NixOS users write. Expected verdicts are in
# tests/driver/test_analysis_recorded.py.
#
# <name> = { description; module ? none; platform ? "x86_64-linux";
#   evaluationFails ? false (NixOS itself cannot evaluate it: its error is recorded); }
let
  # Variants for another platform than x86_64-linux.
  platforms = {
    boot-extlinux-aarch64 = "aarch64-linux";
    boot-grub-bios-aarch64 = "aarch64-linux";
    boot-grub-efi-aarch64 = "aarch64-linux";
  };
  # NixOS itself fails on this one before its "addr must be specified"
  # assertion: sshd.nix's Kerberos assertion reads the generated
  # "ListenAddress ${addr}" line.
  evaluationFails = [ "sshd-listen-no-addr" ];

  variant =
    file:
    let
      name = builtins.head (builtins.match "(.*)\\.nix" file);
      module = ./variants + "/${file}";
      # "# What it is." -> "What it is"
      firstLine = builtins.head (builtins.split "\n" (builtins.readFile module));
    in
    {
      inherit name;
      value =
        {
          description = builtins.head (builtins.match "# (.*)\\." firstLine);
          inherit module;
        }
        // (if platforms ? ${name} then { platform = platforms.${name}; } else { })
        // (if builtins.elem name evaluationFails then { evaluationFails = true; } else { });
    };
in
{
  vm.description = "machines/nixos/vm-shared.nix as the flake's nixosConfigurations.vm";
  vm-aarch64 = {
    description = "machines/nixos/vm-shared.nix as the flake's nixosConfigurations.vm-aarch64";
    platform = "aarch64-linux";
  };
}
// builtins.listToAttrs (map variant (builtins.attrNames (builtins.readDir ./variants)))
