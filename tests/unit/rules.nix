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
#     networking.hostName = "vmtest";
#     networking.firewall = { enable; allowedTCPPorts; allowedTCPPortRanges = [ { from; to; } ];
#                             trustedInterfaces;
#                             interfaces.<name> = { allowedTCPPorts; allowedTCPPortRanges; }; };
#     services.openssh = { enable; ports; listenAddresses = [ { addr; port; } ]; startWhenNeeded;
#                          settings = { PermitRootLogin; PasswordAuthentication;
#                                       KbdInteractiveAuthentication;   # null: OpenSSH's default
#                                       AllowUsers; DenyUsers; AllowGroups; DenyGroups;  # when set
#                                       ForceCommand; }; };
#     virtualisation.docker.enable = true;
#     users.users.<name> = { isNormalUser; group; extraGroups; shell; uid;  # shell: basename, e.g. "bash"
#                            enable; password; initialPassword; hashedPassword;
#                            initialHashedPassword; hashedPasswordFile;
#                            openssh.authorizedKeys = { keys; keyFiles; }; };
#     users = { mutableUsers; groups.<name> = { members = [ "dev" ]; gid; }; };
#     security.<sudo|sudo-rs|doas> = { enable; wheelNeedsPassword;
#                                      extraRules = [ ... ];  # as NixOS merged them, the module's own
#                                                             # included; absent: the module's own only
#                                      defaultOptions; };     # sudo, sudo-rs; used when extraRules is absent
#     environment.systemPackages = [ "openssh" ... ];  # package names, corePackages included
#     boot = { isContainer; loader = { grub = { enable; devices; efiSupport; };
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
# title, its usual severity and fix (the README's rule table is generated from
# them: ./rule-table.nix), and `check : data -> [ finding ]`. What NixOS does
# with the options, and where in nixpkgs that was read, is in ./semantics.nix.
let
  l = import ./lib.nix;
  s = import ./semantics.nix;
  inherit (l) get when quote;

  name = d: get [ "_analysis" "name" ] "vm" d;
  testUser = d: get [ "vmtest" "testUser" "name" ] null d;
  inherit (s) users;
  # Names of the normal users, in attribute order.
  normalUsers = d: builtins.filter (n: (users d).${n}.isNormalUser or false) (builtins.attrNames (users d));
  openssh = d: get [ "services" "openssh" ] { } d;
  # A value as sshd_config spells it (sshd.nix: booleans as yes/no).
  sshdValue = v: if builtins.isBool v then (if v then "yes" else "no") else toString v;
  # A setting as sshd applies it: null leaves it out of sshd_config, so OpenSSH's
  # default applies (./semantics.nix, opensshDefaults).
  sshSetting =
    setting: default: d:
    let
      v = get [ "settings" setting ] default (openssh d);
    in
    if v == null then s.opensshDefaults.${setting} or null else v;
  # The setting as the configuration spells it, for messages.
  showSetting =
    setting: default: d:
    let
      v = get [ "settings" setting ] default (openssh d);
    in
    if v == null && s.opensshDefaults ? ${setting} then
      "null, OpenSSH's default ${sshdValue s.opensshDefaults.${setting}}"
    else
      showValue v;
  sshdEnabled = d: (openssh d).enable or false;
  # The platform the configuration is built for (the check's, when the data has none).
  platform = d: get [ "nixpkgs" "hostPlatform" ] (get [ "_analysis" "expectedPlatform" ] "x86_64-linux" d) d;
  showValue =
    v:
    if v == null then
      "unset"
    else if builtins.isBool v then
      (if v then "true" else "false")
    else if builtins.isList v then
      builtins.concatStringsSep ", " (map showValue v)
    else
      toString v;

  # The finding of rule `r` (its id, severity and fix unless `f` names others).
  finding =
    r: f:
    {
      inherit (r) id severity fix;
    }
    // f;

  # A rule with one fixed finding, reported when `failing data` holds.
  simpleRule =
    r@{
      id,
      title,
      severity ? "error",
      failing,
      option,
      message,
      fix,
    }:
    {
      inherit id title severity fix;
      check = d: when (failing d) (finding (r // { inherit severity; }) { inherit option message; });
    };

  # ---- groups: the test user (vmtest.testUser.name), else any normal user ----
  groupProblem =
    group: d:
    let
      u = testUser d;
      us = users d;
    in
    if u != null then
      if !(us ? ${u}) then
        "Test user ${u} is not defined in users.users"
      else if !(us.${u}.enable or true) then
        "Test user ${u} is disabled (users.users.${u}.enable = false)"
      else if !(s.inGroup d group u us.${u}) then
        "Test user ${u} is not in the ${group} group"
      else
        null
    else if builtins.any (n: s.inGroup d group n (users d).${n}) (normalUsers d) then
      null
    else
      "No normal user is in the ${group} group";

  groupRule = group: rec {
    id = "${group}-group";
    title = "The test user is in the ${group} group (extraGroups, primary group or users.groups.${group}.members)";
    severity = "error";
    fix = "add ${quote group} to users.users.<name>.extraGroups";
    check =
      d:
      let
        problem = groupProblem group d;
        u = testUser d;
        who = if u != null then u else "<name>";
        undefined = u != null && !((users d) ? ${u});
      in
      when (problem != null) {
        inherit id severity;
        option = if undefined then "vmtest.testUser.name" else "users.users.${who}.extraGroups";
        message = problem;
        fix =
          if undefined then
            "set vmtest.testUser.name to a user defined in users.users (vm-shared.nix defines that user itself)"
          else
            "add ${quote group} to users.users.${who}.extraGroups";
      };
  };

  # ---- login: why a normal user cannot log in (null when it can) -------------
  # SSH keys count only with sshd on; an empty hashed password logs in at the
  # console (users-groups.nix, see ./semantics.nix).
  loginProblem =
    d: n: u:
    let
      p = s.password d u;
      keys = s.keys u;
      refused = (s.sshdAccess d n u).refused;
      byKey = keys != [ ] && sshdEnabled d && refused == null;
      noKey =
        if keys == [ ] then
          "no SSH key"
        else if !(sshdEnabled d) then
          "SSH keys but sshd is off"
        else
          "SSH keys but sshd refuses ${n} (${refused})";
    in
    if !(u.enable or true) then
      "${n} is disabled (enable = false)"
    else if !(s.loginShell u) then
      "${n} has the login shell ${showValue (u.shell or null)}"
    else if byKey || p.state == "set" || p.state == "empty" then
      null
    else
      "${n} has ${noKey} and ${s.passwordText p}";

  # A user with keys whom sshd admits only from some client hosts (USER@HOST patterns).
  hostDependentLogin =
    d: n: u:
    let
      h = (s.sshdAccess d n u).hostDependent;
    in
    if sshdEnabled d && s.keys u != [ ] && (u.enable or true) && h != null then
      "sshd admits ${n} only from some client hosts (${h}); the address the VM is reached from is not known here"
    else
      null;

  # Users in wheel that must be able to escalate: the test user, else every normal user in wheel.
  wheelUsers =
    d:
    let
      u = testUser d;
      us = users d;
      inWheel = n: us ? ${n} && s.inGroup d "wheel" n us.${n};
    in
    builtins.filter inWheel (if u != null then [ u ] else normalUsers d);

  # vmtest.allowPasswordAuthentication: passwords (and keyboard-interactive) on purpose.
  passwordsOnPurpose = d: get [ "vmtest" "allowPasswordAuthentication" ] false d;

  # An sshd setting that must refuse something, quoting the value (sshd.nix's
  # default when unset), unless the configuration allows it on purpose.
  sshdRule =
    r@{
      id,
      title,
      severity ? "error",
      setting,
      default ? true,
      refused,
      # Refused by something else the data shows (PAM, for passwords).
      refusedBy ? (_: false),
      allowedOnPurpose ? (_: false),
      says,
      fix,
    }:
    {
      inherit id title severity fix;
      check =
        d:
        let
          v = sshSetting setting default d;
        in
        when (sshdEnabled d && !(refused v) && !(refusedBy d) && !(allowedOnPurpose d)) (
          finding (r // { inherit severity; }) {
            option = "services.openssh.settings.${setting}";
            message = "sshd ${says} (${setting} = ${showSetting setting default d})";
          }
        );
    };

  boot = d: get [ "boot" ] { } d;
  vmOnly = d: get [ "_analysis" "vmOnly" ] false d;
  # The boot rules do not apply to a direct-boot test VM (qemu-vm.nix boots the
  # kernel and mounts its own file systems) or to a container.
  bootsItself = d: !(vmOnly d) && !((boot d).isContainer or false);

  rules = [
    (simpleRule {
      id = "docker-enabled";
      title = "Docker service is enabled";
      failing = d: !(get [ "virtualisation" "docker" "enable" ] false d);
      option = "virtualisation.docker.enable";
      message = "Docker service not properly configured";
      fix = "set virtualisation.docker.enable = true;";
    })
    (groupRule "docker")
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
      title = "An OpenSSH client is installed";
      # programs/ssh.nix (stored copy id 52451456462) sets
      # environment.corePackages = [ programs.ssh.package ] unconditionally,
      # and system-path.nix (0354e8b747c8d69802d160ff408d1aece50472c9) makes
      # environment.systemPackages = corePackages ++ defaultPackages. So this
      # fires only when corePackages is forced empty or programs.ssh.package is
      # not an OpenSSH (pnames "openssh", "openssh-with-hpn", "openssh-with-gssapi").
      # nixos-24.11 has no corePackages: system-path.nix lists programs.ssh.package
      # among its requiredPackages, with the same effect (read in the 24.11 tree).
      failing = d: !(builtins.any (l.hasPrefix "openssh") (get [ "environment" "systemPackages" ] [ ] d));
      option = "programs.ssh.package";
      message = "Missing required package: openssh";
      fix = "keep programs.ssh.package an OpenSSH (NixOS installs it in every system: environment.corePackages in newer NixOS, system-path.nix's required packages in 24.11) and do not force that list empty";
    })
    rec {
      id = "sshd-root-login";
      title = "sshd lets no one log in as root";
      severity = "error";
      fix = "set services.openssh.settings.PermitRootLogin = \"no\";";
      # PermitRootLogin (./semantics.nix): "prohibit-password" (sshd.nix's default,
      # and OpenSSH's when null) lets root in with a key only; "forced-commands-only"
      # only with a key that forces a command. Nothing when sshd refuses root
      # (DenyUsers, AllowUsers, ...). Keys the configuration cannot show (a file
      # put into /root/.ssh/authorized_keys at run time) are not seen here.
      check =
        d:
        let
          v = sshSetting "PermitRootLogin" "prohibit-password" d;
          shown = showSetting "PermitRootLogin" "prohibit-password" d;
          root = (users d).root or { };
          keys = s.keys root;
          forcedKeys = builtins.filter s.forcedCommandKey (root.openssh.authorizedKeys.keys or [ ]);
          forceCommand = sshSetting "ForceCommand" null d;
          withKey = builtins.elem v [
            "prohibit-password"
            "without-password"
          ];
          option = "services.openssh.settings.PermitRootLogin";
          keyFix = "${fix} (or remove users.users.root.openssh.authorizedKeys)";
        in
        if !(sshdEnabled d) || v == "no" || (s.sshdAccess d "root" root).refused != null then
          [ ]
        else if withKey then
          when (keys != [ ]) {
            inherit id severity option;
            message = "sshd lets root log in with an SSH key (PermitRootLogin = ${shown}, and users.users.root has authorized keys)";
            fix = keyFix;
          }
        else if v == "forced-commands-only" then
          (
            if keys != [ ] && (forceCommand != null || forcedKeys != [ ]) then
              when true {
                inherit id severity option;
                message =
                  "sshd lets root run forced commands with an SSH key (PermitRootLogin = forced-commands-only, and "
                  + (
                    if forceCommand != null then
                      "ForceCommand = ${forceCommand})"
                    else
                      "a key in users.users.root.openssh.authorizedKeys.keys has a command= option)"
                  );
                fix = keyFix;
              }
            else
              # keyFiles are read when the system is built, not here.
              when (root.openssh.authorizedKeys.keyFiles or [ ] != [ ]) {
                inherit id option;
                severity = "warning";
                message = "sshd lets root in with a key that forces a command (PermitRootLogin = forced-commands-only); whether users.users.root.openssh.authorizedKeys.keyFiles hold such a key is not read here";
                fix = keyFix;
              }
          )
        else
          when true {
            inherit id severity option fix;
            message = "sshd permits root login (PermitRootLogin = ${shown})";
          };
    }
    (sshdRule {
      id = "sshd-password-auth";
      title = "sshd refuses password authentication";
      setting = "PasswordAuthentication";
      refused = v: v == false;
      refusedBy = s.pamRefusesPasswords;
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
    rec {
      id = "login-user";
      title = "A normal user can log in (enabled, a login shell, and an SSH key sshd admits or a usable password)";
      severity = "error";
      fix = "give a normal user an SSH key (vmtest.testUser.authorizedKeys) or a password that is not locked";
      check =
        d:
        let
          problems = map (n: loginProblem d n (users d).${n}) (normalUsers d);
          notJudged = builtins.filter (x: x != null) (
            map (n: hostDependentLogin d n (users d).${n}) (normalUsers d)
          );
        in
        when (!(builtins.elem null problems)) {
          inherit id severity fix;
          option = "users.users";
          message =
            if problems == [ ] then
              "No normal user is defined (users.users.<name>.isNormalUser = true)"
            else
              "No normal user can log in: ${builtins.concatStringsSep "; " problems}";
        }
        ++ map (message: {
          inherit id message;
          severity = "warning";
          option = "services.openssh.settings";
          fix = "check that the test client's address matches, or list the user without @HOST";
        }) notJudged;
    }
    (simpleRule {
      id = "sudo-enabled";
      title = "wheel can become root (security.sudo, security.sudo-rs or security.doas)";
      failing = d: s.escalation d == [ ];
      option = "security.sudo.enable";
      message = "wheel cannot become root: security.sudo, security.sudo-rs and security.doas are all disabled";
      fix = "set security.sudo.enable = true;";
    })
    rec {
      id = "sudo-password";
      title = "The test user can become root (a usable password, or a last matching NOPASSWD/noPass rule: wheelNeedsPassword = false or extraRules)";
      severity = "error";
      fix = "set security.sudo.wheelNeedsPassword = false; for a key-only user, or give the user a password";
      check =
        d:
        let
          tools = s.escalation d;
          candidates = wheelUsers d;
          able = n: builtins.any (s.canEscalate d n (users d).${n}) tools;
          n = builtins.head candidates;
          u = (users d).${n};
          t = builtins.head tools;
          names = builtins.concatStringsSep " or " (map (x: x.name) tools);
          e = s.escalationRule d t n u;
          rule = builtins.elemAt t.extraRules e.rule;
          # The module's own wheel rule (./semantics.nix, builtinRules).
          wheelRule = (rule.groups or [ ]) == [ "wheel" ] && (rule.users or [ ]) == [ ];
          has = "${n} has ${s.passwordText (s.password d u)}";
          nopass = if t.name == "doas" then "noPass = true;" else "NOPASSWD";
          why =
            if e.rule == null then
              {
                option = "security.${t.name}.extraRules";
                message = "no rule in security.${t.name}.extraRules lets ${n} run every command as root";
                fix = "keep the wheel rule of security.${t.name} (do not mkForce extraRules), or add one for ${n}";
              }
            else if wheelRule && t.wheelNeedsPassword then
              {
                option = "security.${t.name}.wheelNeedsPassword";
                message = "security.${t.name}.wheelNeedsPassword = true and ${has}";
                fix = "set security.${t.name}.wheelNeedsPassword = false; for a key-only user, or give ${n} a password (vmtest.testUser.initialPassword)";
              }
            else
              {
                option = "security.${t.name}.extraRules";
                message = "the last rule of security.${t.name}.extraRules for ${n} (${s.showRule rule}) asks for a password and ${has}";
                fix = "give that rule ${nopass} (it must be the last one for ${n}), or give ${n} a password (vmtest.testUser.initialPassword)";
              };
        in
        when (tools != [ ] && candidates != [ ] && !(builtins.any able candidates)) (
          {
            inherit id severity;
            message = "${if testUser d != null then "Test user " else ""}${n} cannot use ${names}: ${why.message}";
          }
          // removeAttrs why [ "message" ]
        );
    }
    (groupRule "wheel")
    rec {
      id = "ssh-port";
      title = "sshd listens on port 22 on a non-loopback address IPv4 clients reach, and the firewall lets it in";
      severity = "error";
      fix = "set services.openssh.openFirewall = true; and keep 22 in services.openssh.ports";
      check =
        d:
        let
          ssh = openssh d;
          on22 = builtins.filter (x: x.port == 22) (s.listening ssh);
          outside = builtins.filter (x: !(s.loopback x.addr)) on22;
          addresses = map (
            a: a.addr + (if (a.port or null) == null then "" else ":${toString a.port}")
          ) (ssh.listenAddresses or [ ]);
          fw = get [ "networking" "firewall" ] { } d;
          opened = s.firewallOpenings fw 22;
          local = builtins.all s.localInterface opened.interfaces;
          where = builtins.concatStringsSep ", " opened.interfaces;
        in
        if !(sshdEnabled d) then
          [ ]
        else if on22 == [ ] then
          when true {
            inherit id severity;
            option = if addresses != [ ] then "services.openssh.listenAddresses" else "services.openssh.ports";
            message =
              "sshd does not listen on port 22 ("
              + (
                if addresses != [ ] then
                  "listenAddresses = ${showValue addresses}"
                else
                  "ports = ${showValue (ssh.ports or [ ])}"
              )
              + ")";
            fix = "add 22 to services.openssh.ports (a listenAddresses entry with its own port listens only there)";
          }
        else if outside == [ ] then
          when true {
            inherit id severity;
            option = "services.openssh.listenAddresses";
            message = "sshd listens on port 22 only on loopback (listenAddresses = ${showValue addresses})";
            fix = "add a reachable address to services.openssh.listenAddresses, e.g. { addr = \"0.0.0.0\"; }";
          }
        else if builtins.all (x: s.v6Only ssh x.addr) outside then
          when true {
            inherit id severity;
            option = "services.openssh.listenAddresses";
            message = "sshd listens on port 22 only on IPv6 (listenAddresses = ${showValue addresses}): its IPv6 sockets take no IPv4 connection, and the VM is reached over IPv4";
            fix = "add { addr = \"0.0.0.0\"; } to services.openssh.listenAddresses (or leave it empty: sshd then listens on IPv4 and IPv6)";
          }
        else if !(fw.enable or true) || opened.global then
          [ ]
        else if opened.interfaces == [ ] then
          when true {
            inherit id severity;
            option = "networking.firewall.allowedTCPPorts";
            message = "Port 22 is not open in the firewall";
            fix = "set services.openssh.openFirewall = true; (or add 22 to networking.firewall.allowedTCPPorts)";
          }
        else if local then
          when true {
            inherit id severity;
            option = "networking.firewall.interfaces";
            message = "Port 22 is open in the firewall only on ${where} (loopback or container interfaces, not the VM's network)";
            fix = "set services.openssh.openFirewall = true; (or add 22 to networking.firewall.allowedTCPPorts)";
          }
        else
          # A named interface may well be the VM's network (eth0 in nixpkgs' test VMs),
          # but nothing here says which one is: warn, do not fail.
          when true {
            inherit id;
            severity = "warning";
            option = "networking.firewall.interfaces";
            message = "Port 22 is open in the firewall only on ${where}, not on every interface";
            fix = "set services.openssh.openFirewall = true; if the VM is reached through another interface";
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
    rec {
      id = "boot-loader";
      title = "Exactly one boot loader is enabled, and it boots this platform";
      severity = "error";
      fix = "BIOS GRUB on a disk (x86 only), or an EFI loader: boot.loader.systemd-boot.enable or boot.loader.grub.efiSupport";
      check =
        d:
        let
          problem = s.bootProblem d (platform d);
          loaders = s.enabledLoaders d;
          options = map s.loaderOption loaders;
        in
        # Two loaders break every configuration, a VM-only one too (./semantics.nix).
        if builtins.length loaders > 1 then
          when true {
            inherit id severity;
            option = builtins.concatStringsSep ", " options;
            message = "${builtins.concatStringsSep " and " loaders} are both enabled; NixOS allows one boot loader (system.build.installBootLoader is unique), so the system does not instantiate";
            fix = "enable only one boot loader: set ${builtins.head options} = false; or ${builtins.concatStringsSep ", " (builtins.tail options)} = false;";
          }
        else
          when (bootsItself d && problem != null) ({ inherit id severity; } // problem);
    }
    (simpleRule {
      id = "root-filesystem";
      title = "A root file system is defined";
      failing =
        d:
        let
          root = get [ "fileSystems" "/" ] null d;
        in
        bootsItself d && !(root != null && ((root.device or null) != null || (root.fsType or null) == "tmpfs"));
      option = "fileSystems.\"/\"";
      message = "No root file system is defined";
      fix = "set fileSystems.\"/\" = { device = \"/dev/disk/by-label/nixos\"; fsType = \"ext4\"; };";
    })
    rec {
      id = "platform";
      title = "Target platform matches the check";
      severity = "error";
      fix = "set nixpkgs.hostPlatform where nixosConfigurations are built (nix/nixos-configurations.nix), not in vm-shared.nix";
      check =
        d:
        let
          expected = get [ "_analysis" "expectedPlatform" ] null d;
          actual = get [ "nixpkgs" "hostPlatform" ] null d;
        in
        when (expected != null && actual != expected) {
          inherit id severity;
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
    rec {
      id = "nixos-assertions";
      title = "NixOS assertions hold";
      severity = "error";
      fix = "change the options the assertion names";
      check =
        d:
        map (a: {
          inherit id severity fix;
          option = "assertions";
          message = "NixOS assertion failed: ${a.message}";
        }) (builtins.filter (a: !a.assertion) (get [ "assertions" ] [ ] d));
    }
    rec {
      id = "nixos-warnings";
      title = "NixOS evaluation warnings (reported, never failing)";
      severity = "warning";
      fix = "change the options the warning names";
      check =
        d:
        map (w: {
          inherit id severity fix;
          option = "warnings";
          message = "NixOS warning: ${w}";
        }) (get [ "warnings" ] [ ] d);
    }
    rec {
      id = "system-instantiates";
      title = "The system derivation instantiates";
      severity = "error";
      fix = "run nix eval --raw .#nixosConfigurations.<name>.config.system.build.toplevel.drvPath to see the evaluation error";
      check =
        d:
        let
          failedAssertions = builtins.filter (a: !a.assertion) (get [ "assertions" ] [ ] d);
          err = get [ "_analysis" "instantiationError" ] null d;
        in
        # Failed assertions already make toplevel throw, and so do two boot
        # loaders; both are reported above.
        when
          (
            !(get [ "_analysis" "instantiates" ] true d)
            && failedAssertions == [ ]
            && builtins.length (s.enabledLoaders d) < 2
          )
          {
          inherit id severity;
          option = "system.build.toplevel";
          message = "The system derivation does not instantiate" + (if err == null then "" else ": ${err}");
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
