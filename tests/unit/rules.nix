# Quick-tier analysis rules: pure functions from plain, config-shaped data to
# findings `{ id; severity = "error" | "warning"; option; message; fix; }`.
# Builtins only (plus ./lib.nix), so the rules evaluate offline against fixture
# attrsets, and the flake applies the very same rules to the data that
# ./extract.nix takes from a real NixOS configuration.
#
# The data mirrors NixOS option paths, with values reduced to plain data:
#
#   {
#     _analysis = {
#       name = "vm";                          # the configuration's name
#       expectedPlatform = "x86_64-linux";    # what the check expects (or null)
#       vmOnly = false;                       # qemu-vm.nix is imported (direct-boot VM)
#       instantiates = true;                  # toplevel.drvPath evaluated
#       instantiationError = null;            # its message, when one is known
#     };
#     nixpkgs.hostPlatform = "x86_64-linux";
#     networking.firewall = { enable; allowedTCPPorts; allowedTCPPortRanges = [ { from; to; } ];
#                             interfaces.<name> = { allowedTCPPorts; allowedTCPPortRanges; }; };
#     services.openssh = { enable; ports; settings = { PermitRootLogin;
#                          PasswordAuthentication; KbdInteractiveAuthentication; }; };
#     virtualisation.docker.enable = true;
#     users.users.<name> = { isNormalUser; group; extraGroups; shell;  # shell: basename, e.g. "bash"
#                            enable; password; initialPassword; hashedPassword;
#                            initialHashedPassword; hashedPasswordFile;
#                            openssh.authorizedKeys = { keys; keyFiles; }; };
#     security = { sudo.enable; sudo-rs.enable; };
#     environment.systemPackages = [ "openssh" ... ];            # package names
#     boot = { isContainer; loader = { grub = { enable; devices; };
#              systemd-boot.enable; generic-extlinux-compatible.enable; }; };
#     system.boot.loader.id = "grub";           # the enabled loader module's id, "" for none
#     fileSystems."/" = { device; fsType; };
#     system.stateVersion = "26.05";          # null: not set by the configuration
#     assertions = [ { assertion; message; } ];
#     warnings = [ "..." ];
#     vmtest = { testUser.name = "dev"; allowPasswordAuthentication = false; };
#   }
#
# Every rule has an id (also the check's subtest name in the manifest), a
# title, and `check : data -> [ finding ]`.
let
  l = import ./lib.nix;
  inherit (l) get when quote;

  name = d: get [ "_analysis" "name" ] "vm" d;
  testUser = d: get [ "vmtest" "testUser" "name" ] null d;
  users = d: get [ "users" "users" ] { } d;
  normalUsers = d: builtins.filter (u: u.isNormalUser or false) (builtins.attrValues (users d));
  groupsOf = u: (u.extraGroups or [ ]) ++ [ (u.group or "") ];
  openssh = d: get [ "services" "openssh" ] { } d;
  sshSetting = s: default: d: get [ "settings" s ] default (openssh d);
  sshdEnabled = d: (openssh d).enable or false;

  # "The test user is in <group>": vmtest.testUser when the configuration
  # defines it, else any normal user.
  memberOf =
    group: d:
    let
      u = testUser d;
    in
    if u != null then
      (users d) ? ${u} && builtins.elem group (groupsOf (users d).${u})
    else
      builtins.any (x: builtins.elem group (groupsOf x)) (normalUsers d);

  groupRule = group: d: {
    id = "${group}-group";
    severity = "error";
    option = "users.users.${if testUser d != null then testUser d else "<name>"}.extraGroups";
    message =
      if testUser d != null then
        "Test user ${testUser d} is not in the ${group} group"
      else
        "No normal user is in the ${group} group";
    fix = "add ${quote group} to users.users.${
      if testUser d != null then testUser d else "<name>"
    }.extraGroups";
  };

  # A password that logs in: set, and not locked ("!...") or disabled ("*").
  usable = p: p != null && p != "" && !(l.hasPrefix "!" p) && !(l.hasPrefix "*" p);
  hasCredential =
    u:
    (u.openssh.authorizedKeys.keys or [ ]) != [ ]
    || (u.openssh.authorizedKeys.keyFiles or [ ]) != [ ]
    || (u.password or null) != null
    || (u.initialPassword or null) != null
    || usable (u.hashedPassword or null)
    || usable (u.initialHashedPassword or null)
    || (u.hashedPasswordFile or null) != null;
  loginShell =
    u:
    let
      s = u.shell or "bash";
    in
    s != null && !(builtins.elem s [
      "nologin"
      "false"
    ]);
  canLogIn = u: (u.enable or true) && loginShell u && hasCredential u;

  boot = d: get [ "boot" ] { } d;
  vmOnly = d: get [ "_analysis" "vmOnly" ] false d;
  isContainer = d: (boot d).isContainer or false;
  # The boot rules do not apply to a direct-boot test VM (qemu-vm.nix boots the
  # kernel and mounts its own file systems) or to a container.
  bootsItself = d: !(vmOnly d) && !(isContainer d);

  # Every boot loader module sets system.boot.loader.id (declared with default
  # "" in nixos/modules/system/activation/top-level.nix, read at
  # 01502f439c6a734621f212e450e7a6a9f35a0c5f; grub.nix: "Common attribute for
  # boot loaders so only one of them can be set at once"): "grub",
  # "systemd-boot", "generic-extlinux-compatible", "limine" (limine.nix sets it
  # and grub.enable = mkDefault false; read at
  # 416819a31ea7d634847ff44c0e66e33e28ea4adb), ... GRUB also needs a device:
  # grub.nix asserts mirroredBoots != [ ] (stored copy id 25306865466,
  # nixfmt-era grub.nix). The pin nixos-26.05 02e08985 is not stored.
  hasBootLoader =
    d:
    let
      loader = (boot d).loader or { };
      grub = loader.grub or { };
      id = get [ "system" "boot" "loader" "id" ] "" d;
    in
    ((grub.enable or false) && (grub.devices or [ ]) != [ ])
    || (loader.systemd-boot.enable or false)
    || (loader.generic-extlinux-compatible.enable or false)
    || (id != "" && id != "grub");

  # Port 22 is open when the firewall allows it on any interface, by port or
  # by range (firewall.nix: allowedTCPPorts/allowedTCPPortRanges, global and
  # per interface; read at 0192bb844360b5b42ebaf7f575f84d79910a5927).
  opensPort22 =
    fw:
    let
      inRange = r: (r.from or 65536) <= 22 && 22 <= (r.to or (-1));
      opens =
        x: builtins.elem 22 (x.allowedTCPPorts or [ ]) || builtins.any inRange (x.allowedTCPPortRanges or [ ]);
    in
    opens fw || builtins.any opens (builtins.attrValues (fw.interfaces or { }));

  # A rule with one fixed finding, reported under the rule's own id when
  # `failing data` holds.
  simpleRule =
    {
      id,
      title,
      severity ? "error",
      failing,
      option,
      message,
      fix,
    }:
    {
      inherit id title;
      check =
        d:
        when (failing d) {
          inherit
            id
            severity
            option
            message
            fix
            ;
        };
    };

  showValue = v: if v == null then "unset" else if builtins.isBool v then (if v then "true" else "false") else toString v;

  # vmtest.allowPasswordAuthentication: passwords (and keyboard-interactive) on purpose.
  passwordsOnPurpose = d: get [ "vmtest" "allowPasswordAuthentication" ] false d;

  # An sshd setting that must refuse something: a finding under the rule's id,
  # quoting the value (sshd's default when unset), when sshd is on, the value
  # is not `refused` and the configuration does not allow it on purpose.
  sshdRule =
    {
      id,
      title,
      severity ? "error",
      setting,
      default ? true,
      refused,
      allowedOnPurpose ? (_: false),
      says,
      fix,
    }:
    {
      inherit id title;
      check =
        d:
        let
          v = sshSetting setting default d;
        in
        when (sshdEnabled d && !(refused v) && !(allowedOnPurpose d)) {
          inherit
            id
            severity
            fix
            ;
          option = "services.openssh.settings.${setting}";
          message = "sshd ${says} (${setting} = ${showValue v})";
        };
    };

  rules = [
    (simpleRule {
      id = "docker-enabled";
      title = "Docker service is enabled";
      failing = d: !(get [ "virtualisation" "docker" "enable" ] false d);
      option = "virtualisation.docker.enable";
      message = "Docker service not properly configured";
      fix = "set virtualisation.docker.enable = true;";
    })
    {
      id = "docker-group";
      title = "Test user is in the docker group";
      check = d: when (!(memberOf "docker" d)) (groupRule "docker" d);
    }
    (simpleRule {
      id = "openssh-enabled";
      title = "OpenSSH service is enabled";
      failing = d: !(sshdEnabled d);
      option = "services.openssh.enable";
      message = "OpenSSH service is not enabled";
      fix = "set services.openssh.enable = true;";
    })
    (simpleRule {
      id = "openssh-package";
      title = "openssh package is installed";
      # Names are pnames: "openssh", "openssh-with-hpn", "openssh-with-gssapi".
      failing =
        d: !(builtins.any (l.hasPrefix "openssh") (get [ "environment" "systemPackages" ] [ ] d));
      option = "environment.systemPackages";
      message = "Missing required package: openssh";
      fix = "add config.services.openssh.package (pkgs.openssh) to environment.systemPackages";
    })
    (sshdRule {
      id = "sshd-root-login";
      title = "sshd refuses root login";
      setting = "PermitRootLogin";
      default = "prohibit-password";
      refused = v: v == "no";
      says = "permits root login";
      fix = "set services.openssh.settings.PermitRootLogin = \"no\";";
    })
    (sshdRule {
      id = "sshd-password-auth";
      title = "sshd refuses password authentication";
      setting = "PasswordAuthentication";
      refused = v: v == false;
      allowedOnPurpose = passwordsOnPurpose;
      says = "allows password authentication";
      fix = "set services.openssh.settings.PasswordAuthentication = false; (or vmtest.allowPasswordAuthentication = true; to allow it on purpose)";
    })
    (sshdRule {
      id = "sshd-kbd-interactive";
      title = "sshd refuses keyboard-interactive authentication";
      severity = "warning";
      setting = "KbdInteractiveAuthentication";
      refused = v: v == false;
      allowedOnPurpose = passwordsOnPurpose;
      says = "allows keyboard-interactive authentication";
      fix = "set services.openssh.settings.KbdInteractiveAuthentication = false;";
    })
    {
      id = "login-user";
      title = "A normal user can log in";
      check =
        d:
        when (!(builtins.any canLogIn (normalUsers d))) {
          id = "login-user";
          severity = "error";
          option = "users.users";
          message = "No normal user can log in (needs isNormalUser, a login shell, and an SSH key or an unlocked password)";
          fix = "set vmtest.testUser.authorizedKeys (or a password) for a user with isNormalUser = true;";
        };
    }
    (simpleRule {
      id = "sudo-enabled";
      title = "sudo is enabled";
      failing =
        d: !(get [ "security" "sudo" "enable" ] false d) && !(get [ "security" "sudo-rs" "enable" ] false d);
      option = "security.sudo.enable";
      message = "sudo is not enabled, so wheel cannot become root";
      fix = "set security.sudo.enable = true;";
    })
    {
      id = "wheel-group";
      title = "Test user is in the wheel group";
      check = d: when (!(memberOf "wheel" d)) (groupRule "wheel" d);
    }
    {
      id = "ssh-port";
      title = "Port 22 is reachable";
      check =
        d:
        let
          ports = (openssh d).ports or [ 22 ];
          fw = get [ "networking" "firewall" ] { } d;
        in
        if !(sshdEnabled d) then
          [ ]
        else if !(builtins.elem 22 ports) then
          when true {
            id = "ssh-port";
            severity = "error";
            option = "services.openssh.ports";
            message = "sshd does not listen on port 22";
            fix = "add 22 to services.openssh.ports";
          }
        else
          when ((fw.enable or true) && !(opensPort22 fw)) {
            id = "ssh-port";
            severity = "error";
            option = "networking.firewall.allowedTCPPorts";
            message = "Port 22 is not open in the firewall";
            fix = "set services.openssh.openFirewall = true; (or add 22 to networking.firewall.allowedTCPPorts)";
          };
    }
    (simpleRule {
      id = "firewall-enabled";
      title = "The firewall is on";
      severity = "warning";
      failing = d: !(get [ "networking" "firewall" "enable" ] true d);
      option = "networking.firewall.enable";
      message = "The firewall is disabled";
      fix = "set networking.firewall.enable = true; and open only the ports the VM serves";
    })
    (simpleRule {
      id = "boot-loader";
      title = "A boot loader is configured";
      failing = d: bootsItself d && !(hasBootLoader d);
      option = "boot.loader.grub.devices";
      message = "No boot loader is configured (GRUB has no device and systemd-boot is off)";
      fix = "set boot.loader.grub.device = \"/dev/vda\"; (or enable boot.loader.systemd-boot for EFI)";
    })
    (simpleRule {
      id = "root-filesystem";
      title = "A root file system is defined";
      failing =
        d:
        let
          root = get [ "fileSystems" "/" ] null d;
        in
        bootsItself d
        && !(root != null && ((root.device or null) != null || (root.fsType or null) == "tmpfs"));
      option = "fileSystems.\"/\"";
      message = "No root file system is defined";
      fix = "set fileSystems.\"/\" = { device = \"/dev/disk/by-label/nixos\"; fsType = \"ext4\"; };";
    })
    {
      id = "platform";
      title = "Target platform matches the check";
      check =
        d:
        let
          expected = get [ "_analysis" "expectedPlatform" ] null d;
          actual = get [ "nixpkgs" "hostPlatform" ] null d;
        in
        when (expected != null && actual != expected) {
          id = "platform";
          severity = "error";
          option = "nixpkgs.hostPlatform";
          message = "Target platform is ${showValue actual}, expected ${expected}";
          fix = "set nixpkgs.hostPlatform = \"${expected}\"; where nixosConfigurations.${name d} is built (nix/nixos-configurations.nix), not in vm-shared.nix";
        };
    }
    (simpleRule {
      id = "state-version";
      title = "system.stateVersion is set";
      failing = d: get [ "system" "stateVersion" ] null d == null;
      option = "system.stateVersion";
      message = "system.stateVersion is not set";
      fix = "set system.stateVersion to the release the VM was first installed with, e.g. \"26.05\"";
    })
    {
      id = "nixos-assertions";
      title = "NixOS assertions hold";
      check =
        d:
        map
          (a: {
            id = "nixos-assertions";
            severity = "error";
            option = "assertions";
            message = "NixOS assertion failed: ${a.message}";
            fix = "change the options the assertion names";
          })
          (builtins.filter (a: !a.assertion) (get [ "assertions" ] [ ] d));
    }
    {
      id = "nixos-warnings";
      title = "NixOS evaluation warnings";
      check =
        d:
        map (w: {
          id = "nixos-warnings";
          severity = "warning";
          option = "warnings";
          message = "NixOS warning: ${w}";
          fix = "change the options the warning names";
        }) (get [ "warnings" ] [ ] d);
    }
    {
      id = "system-instantiates";
      title = "The system derivation instantiates";
      check =
        d:
        let
          failedAssertions = builtins.filter (a: !a.assertion) (get [ "assertions" ] [ ] d);
          err = get [ "_analysis" "instantiationError" ] null d;
        in
        # Failed assertions already make toplevel throw; they are reported above.
        when (!(get [ "_analysis" "instantiates" ] true d) && failedAssertions == [ ]) {
          id = "system-instantiates";
          severity = "error";
          option = "system.build.toplevel";
          message =
            "The system derivation does not instantiate" + (if err == null then "" else ": ${err}");
          fix = "run nix eval --raw .#nixosConfigurations.${name d}.config.system.build.toplevel.drvPath to see the evaluation error";
        };
    }
  ];
in
{
  inherit rules;

  ruleIds = map (r: r.id) rules;

  # All findings for one configuration's data, in rule order.
  analyse = d: builtins.concatMap (r: r.check d) rules;
}
