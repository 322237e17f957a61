# From an evaluated NixOS system (the result of nixpkgs.lib.nixosSystem) to
# the plain, config-shaped data the rules read (see ./rules.nix). Builtins only.
#
# The principle: force only what NixOS itself forces when it builds the system.
#
#  1. Assertions first, as nixos/modules/system/activation/top-level.nix does
#     (nixos-24.11: `failedAssertions = map (x: x.message) (filter (x:
#     !x.assertion) config.assertions)`; newer trees call
#     lib.asserts.checkAssertWarn, which does the same): every assertion's
#     boolean, then the messages of the FAILING ones only. A passing
#     assertion's message may not evaluate at all (filesystems.nix builds its
#     first two from `fileSystems'.cycle`, which exists only when it fails).
#     When one fails, NixOS throws "Failed assertions: ..." and reads nothing
#     else, not even its warnings: neither does this file. The data is then
#     the failed assertions alone, and ./analyse.nix runs only the rules on
#     evaluation itself (the other rules would judge a configuration NixOS
#     refuses, with values its assertions rule out).
#  2. Otherwise every warning, as top-level.nix shows them (lib.showWarnings,
#     before the system is built).
#  3. `system.build.toplevel.drvPath` (instantiation, not a build) inside
#     `builtins.tryEval`. That catches `throw` and `assert`, so the module
#     system's errors (an undeclared option, a value not of the option's type,
#     conflicting definitions, "Only one bootloader can be enabled") are
#     caught, but it keeps no message: the finding names the `nix eval` that
#     shows it. Not catchable (the check's evaluation fails and Nix prints the
#     error itself): a missing attribute, a Nix-level type error such as
#     coercing null to a string, infinite recursion, `abort`.
#  4. The option values the rules read, each only where building the system
#     reads it too (a disabled service's settings are not read: NixOS's
#     modules read them under `mkIf cfg.enable`, and the rules need only its
#     `enable`). So reading them fails only where building the system fails
#     too, and then with the same error, which Nix prints with the module
#     system's message naming the user's file and option. Nothing here reads
#     a value under `tryEval` to hide its failure.
#
# A rule author who needs a new value adds it below, read under the same
# condition under which NixOS reads it, and to the data shape at the top of
# ./rules.nix.
{
  name,
  expectedPlatform,
  nixos,
}:
let
  inherit (nixos) config options;
  l = import ./lib.nix;
  genAttrs =
    names: f:
    builtins.listToAttrs (
      map (n: {
        name = n;
        value = f n;
      }) names
    );

  pkgName = p: p.pname or (builtins.parseDrvName (p.name or "")).name;

  # A user's shell as a basename ("bash", "nologin"): from the package's
  # shellPath when it is a package (never its outPath: that would instantiate
  # it), else from the path string.
  shellName =
    s:
    if s == null then
      null
    else if builtins.isAttrs s then
      baseNameOf (s.shellPath or "/bin/${pkgName s}")
    else
      baseNameOf (toString s);

  user = u: {
    inherit (u)
      name
      isNormalUser
      group
      extraGroups
      uid
      password
      initialPassword
      hashedPassword
      initialHashedPassword
      hashedPasswordFile
      ;
    # users.users.<name>.enable arrived in nixos-25.05; before it every user is created.
    enable = u.enable or true;
    shell = shellName u.shell;
    openssh.authorizedKeys = {
      inherit (u.openssh.authorizedKeys) keys keyFiles;
    };
  };

  testUserName = l.get [ "vmtest" "testUser" "name" ] null config;
  ssh = config.services.openssh;
  fw = config.networking.firewall;
  grub = config.boot.loader.grub;

  # Set by the configuration, not by the option's default (priority 1500).
  stateVersionSet = (options.system.stateVersion.highestPrio or 0) < 1500;

  # sudo.nix and sudo-rs.nix: extraRules = [ { users; groups; host; runAs;
  # commands = [ "cmd" | { command; options; } ]; } ], the module's own root
  # and wheel rules included (mkOrder 400 and 600); doas.nix: [ { users;
  # groups; noPass; runAs; cmd; args; ... } ] with its wheel rule (mkOrder 600).
  sudoRule = r: {
    inherit (r)
      users
      groups
      host
      runAs
      ;
    commands = map (c: if builtins.isString c then c else { inherit (c) command options; }) r.commands;
  };
  doasRule = r: {
    inherit (r)
      users
      groups
      noPass
      persist
      keepEnv
      runAs
      cmd
      args
      ;
  };
  escalationTool =
    tool:
    let
      # sudo-rs arrived in nixos-23.11; a tool the tree lacks is off.
      cfg = config.security.${tool} or { };
    in
    if !(cfg.enable or false) then
      { enable = false; }
    else
      {
        inherit (cfg) enable wheelNeedsPassword;
        extraRules = map (if tool == "doas" then doasRule else sudoRule) cfg.extraRules;
      }
      // (if cfg ? defaultOptions then { inherit (cfg) defaultOptions; } else { });

  # 4. The option values (paths and shapes are those of ./rules.nix).
  values = {
    nixpkgs.hostPlatform = config.nixpkgs.hostPlatform.system;
    networking.hostName = config.networking.hostName;
    # firewall.nix (nixos-24.11): allowedTCPPorts and allowedTCPPortRanges =
    # [ { from; to; } ], both also under interfaces.<name>; with the firewall
    # on, trustedInterfaces always holds "lo".
    networking.firewall =
      let
        tcp = x: { inherit (x) allowedTCPPorts allowedTCPPortRanges; };
      in
      if !fw.enable then
        { enable = false; }
      else
        {
          inherit (fw) enable trustedInterfaces;
          interfaces = builtins.mapAttrs (_: tcp) fw.interfaces;
        }
        // tcp fw;
    # sshd.nix: listenAddresses = [ { addr; port ? null; } ]; settings is
    # freeform, a setting that is null (or not set) is left out of sshd_config,
    # where OpenSSH's own default applies.
    services.openssh =
      if !ssh.enable then
        { enable = false; }
      else
        {
          inherit (ssh) enable ports startWhenNeeded;
          listenAddresses = map (a: {
            inherit (a) addr;
            port = a.port or null;
          }) ssh.listenAddresses;
          settings = builtins.listToAttrs (
            map
              (k: {
                name = k;
                value = ssh.settings.${k} or null;
              })
              [
                "PermitRootLogin"
                "PasswordAuthentication"
                "KbdInteractiveAuthentication"
                "AllowUsers"
                "AllowGroups"
                "DenyUsers"
                "DenyGroups"
                "ForceCommand"
                "UsePAM"
              ]
          );
        };
    virtualisation.docker.enable = config.virtualisation.docker.enable;
    users = {
      # The users a rule asks about: root (sshd's root login), the normal users
      # (logins, sudo) and the test user; not the system's service accounts.
      users = builtins.mapAttrs (_: user) (
        builtins.removeAttrs config.users.users (
          builtins.filter (
            n: !(config.users.users.${n}.isNormalUser || n == "root" || n == testUserName)
          ) (builtins.attrNames config.users.users)
        )
      );
      inherit (config.users) mutableUsers;
      groups = builtins.mapAttrs (_: g: { inherit (g) members gid; }) config.users.groups;
    };
    security = genAttrs [
      "sudo"
      "sudo-rs"
      "doas"
    ] escalationTool;
    # Names, each once (every user's shell package is listed again).
    environment.systemPackages = l.unique (map pkgName config.environment.systemPackages);
    boot = {
      inherit (config.boot) isContainer;
      loader = {
        # grub.nix installs to the devices of every mirroredBoots entry
        # (derived from `devices`/`device`, or set directly).
        grub =
          if !grub.enable then
            { enable = false; }
          else
            {
              inherit (grub) enable efiSupport;
              devices = l.unique (grub.devices ++ builtins.concatMap (m: m.devices) grub.mirroredBoots);
            };
      }
      # Every loader module of the tree that has an enable option (limine
      # arrived after 24.11; a missing one is off).
      // genAttrs [
        "systemd-boot"
        "generic-extlinux-compatible"
        "generationsDir"
        "raspberryPi"
        "limine"
      ] (loader: { enable = config.boot.loader.${loader}.enable or false; });
    };
    # The root file system is the one mounted on "/" (filesystems.nix:
    # mountPoint defaults to the attribute name, but any name may carry it).
    fileSystems =
      let
        roots = builtins.filter (fs: fs.mountPoint == "/") (builtins.attrValues config.fileSystems);
      in
      if roots == [ ] then
        { }
      else
        {
          "/" = {
            inherit (builtins.head roots) device fsType;
          };
        };
    system = {
      stateVersion = if stateVersionSet then config.system.stateVersion else null;
      # Set by the enabled boot loader module ("" without one; top-level.nix);
      # the option has no type, so two loaders join their ids ("grubsystemd-boot").
      boot.loader.id = config.system.boot.loader.id;
    };
    vmtest = {
      testUser.name = testUserName;
      allowPasswordAuthentication = l.get [ "vmtest" "allowPasswordAuthentication" ] false config;
    };
  };

  # 1. Assertions: the booleans, then the failing ones' messages.
  failedAssertions = map (a: {
    assertion = false;
    inherit (a) message;
  }) (builtins.filter (a: !a.assertion) config.assertions);

  # 3.
  toplevel = builtins.tryEval config.system.build.toplevel.drvPath;

  analysis = {
    inherit name expectedPlatform;
    # qemu-vm.nix (the direct-boot test VM) declares virtualisation.useBootLoader.
    vmOnly = config.virtualisation ? useBootLoader;
  };

  data =
    if failedAssertions != [ ] then
      {
        _analysis = analysis // {
          # Not evaluated: NixOS throws on the failed assertions first.
          instantiates = false;
          instantiationError = null;
        };
        assertions = failedAssertions;
        warnings = [ ];
      }
    else
      values
      // {
        _analysis = analysis // {
          instantiates = toplevel.success;
          instantiationError =
            if toplevel.success then
              null
            else
              "nix eval --raw .#nixosConfigurations.${name}.config.system.build.toplevel.drvPath shows why";
        };
        assertions = [ ];
        # 2. As NixOS shows them.
        inherit (config) warnings;
      };
in
# Forced here, whole, before any rule reads it (only what is described above
# is in it): an error raised while reading it is the configuration's (the
# module system's message names the user's file and option), never a rule's.
builtins.addErrorContext "while reading nixosConfigurations.${name} for the quick tier's analysis" (
  builtins.deepSeq data data
)
