# The development VM under test: what users edit.
#
# Used by nixosConfigurations.vm / vm-aarch64 (nix/nixos-configurations.nix,
# which adds only the platform), by every node of the full-tier VM tests, and
# by the quick tier's analysis. Keep `nixpkgs.*` options out of this file:
# pkgs.testers.runNixOSTest makes them read-only inside test nodes.
#
# Every option below was looked up in nixpkgs' source; tests/unit/offline.nix
# lists option -> file -> revision read, and checks offline that this module
# defines only those options.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  cfg = config.vmtest;
  # BIOS boot exists on x86 only (GRUB's i386-pc target; see tests/unit/semantics.nix).
  bios = pkgs.stdenv.hostPlatform.isx86;
in
{
  # virtio disk/network/console drivers in the initrd, so the same system
  # boots as a QEMU VM and from the qcow2 image.
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  options.vmtest = {
    testUser = {
      name = lib.mkOption {
        type = lib.types.str;
        default = "dev";
        description = "Login name of the VM's normal user (member of wheel and docker).";
      };
      authorizedKeys = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [ "ssh-ed25519 AAAAC3Nza... you@laptop" ];
        description = ''
          SSH public keys that may log in as the test user. Tests inject their
          own key here; add yours to reach the VM over SSH.
        '';
      };
      initialPassword = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = "dev";
        description = ''
          Initial password of the test user, for the VM console and sudo.
          sshd never accepts it (password authentication is off). Set to null
          for a key-only user; such a user can use sudo only without a
          password: security.sudo.wheelNeedsPassword = false, or a NOPASSWD
          rule in security.sudo.extraRules (the quick tier says so).
        '';
      };
    };
    allowPasswordAuthentication = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Let sshd accept passwords (and keyboard-interactive logins). Off by
        default; the quick tier reports password authentication as an error
        unless this is set on purpose.
      '';
    };
  };

  config = {
    # A plain definition: it wins over the NixOS test framework's
    # `mkDefault <node name>` (nixos/lib/testing/network.nix), so a test node
    # has this host name too; a second node in one test must override it.
    networking.hostName = "vmtest";

    nix.settings.experimental-features = [
      "nix-command"
      "flakes"
    ];

    services.openssh = {
      enable = true;
      openFirewall = true;
      settings = {
        PermitRootLogin = "no";
        PasswordAuthentication = cfg.allowPasswordAuthentication;
        KbdInteractiveAuthentication = cfg.allowPasswordAuthentication;
      };
    };

    virtualisation.docker.enable = true;

    users.users.${cfg.testUser.name} = {
      isNormalUser = true;
      description = "vmtest development user";
      extraGroups = [
        "wheel"
        "docker"
      ];
      openssh.authorizedKeys.keys = cfg.testUser.authorizedKeys;
      inherit (cfg.testUser) initialPassword;
    };

    security.sudo = {
      enable = true;
      wheelNeedsPassword = true;
    };

    networking.firewall.enable = true;

    # git for flakes. (ssh, scp and ssh-keygen are there already:
    # programs.ssh puts its package into environment.corePackages.)
    environment.systemPackages = [ pkgs.git ];

    # A boot loader that exists on the platform, root by label: the layouts of
    # nixpkgs' disk images (nixos/modules/virtualisation/disk-image.nix).
    # x86: legacy BIOS GRUB on the first virtio disk (image.efiSupport = false).
    # Elsewhere (aarch64) there is no BIOS GRUB: systemd-boot from the EFI
    # system partition, labelled ESP (image.efiSupport = true).
    # Defaults only, so the images and the test framework's VM (qemu-vm.nix,
    # mkVMOverride) can set their own.
    # GRUB is NixOS's default boot loader; systemd-boot (like every other loader)
    # turns it off itself (systemd-boot.nix: grub.enable = mkDefault false), so
    # grub.enable is left alone here: a second mkDefault would conflict with it.
    boot.loader.grub.device = lib.mkIf bios (lib.mkDefault "/dev/vda");
    # Only where it is wanted, so x86 image variants keep their own choice.
    boot.loader.systemd-boot.enable = lib.mkIf (!bios) (lib.mkDefault true);
    fileSystems."/" = lib.mkDefault {
      device = "/dev/disk/by-label/nixos";
      fsType = "ext4";
    };
    fileSystems."/boot" = lib.mkIf (!bios) (
      lib.mkDefault {
        device = "/dev/disk/by-label/ESP";
        fsType = "vfat";
      }
    );

    system.stateVersion = "26.05";
  };
}
