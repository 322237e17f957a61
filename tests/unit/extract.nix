# From an evaluated NixOS system (the result of nixpkgs.lib.nixosSystem) to
# the plain, config-shaped data the rules read (see ./rules.nix).
#
# Lazy and minimal: it reads only the option values the rules need, never
# builds anything, and forces `system.build.toplevel.drvPath` (instantiation,
# not a build) only for the system-instantiates rule. Builtins only.
#
# What `builtins.tryEval` can and cannot do here: it catches `throw` and
# `assert` failures (NixOS reports failed assertions with a throw) but gives
# no message, so a caught failure is reported without its text (the finding's
# fix says which `nix eval` shows it). Errors that are not throws (a missing
# attribute, a type error, infinite recursion, `abort`) are not catchable: the
# check's evaluation itself fails and Nix prints the error with its trace
# (its message, from the module system, names the user's file and option).
{
  name,
  expectedPlatform,
  nixos,
}:
let
  inherit (nixos) config options;
  l = import ./lib.nix;

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
    name = u.name or null;
    isNormalUser = u.isNormalUser or false;
    enable = u.enable or true;
    group = u.group or "";
    extraGroups = u.extraGroups or [ ];
    shell = shellName (u.shell or null);
    password = u.password or null;
    initialPassword = u.initialPassword or null;
    hashedPassword = u.hashedPassword or null;
    initialHashedPassword = u.initialHashedPassword or null;
    hashedPasswordFile = u.hashedPasswordFile or null;
    openssh.authorizedKeys = {
      keys = u.openssh.authorizedKeys.keys or [ ];
      keyFiles = u.openssh.authorizedKeys.keyFiles or [ ];
    };
  };

  ssh = config.services.openssh;
  grub = config.boot.loader.grub;

  # Set by the configuration, not by the option's default (priority 1500).
  stateVersionSet = (options.system.stateVersion.highestPrio or 0) < 1500;

  # top-level.nix (read at 01502f439c6a734621f212e450e7a6a9f35a0c5f) builds
  # toplevel as lib.asserts.checkAssertWarn assertions warnings baseSystem;
  # checkAssertWarn (lib/asserts.nix, stored copies 611725719 and 54193604583)
  # `throw`s "Failed assertions: ..." and only traces warnings, so a failed
  # assertion is caught here and reported from `assertions` below.
  toplevel = builtins.tryEval config.system.build.toplevel.drvPath;
  data = {
    _analysis = {
      inherit name expectedPlatform;
      # qemu-vm.nix (the direct-boot test VM) declares virtualisation.useBootLoader.
      vmOnly = config.virtualisation ? useBootLoader;
      instantiates = toplevel.success;
      instantiationError = null;
    };
    nixpkgs.hostPlatform = config.nixpkgs.hostPlatform.system;
    # Global and per-interface openings (firewall.nix read at
    # 0192bb844360b5b42ebaf7f575f84d79910a5927: allowedTCPPorts and
    # allowedTCPPortRanges = [ { from; to; } ], both also under interfaces.<name>).
    networking.firewall =
      let
        fw = config.networking.firewall;
        tcp = x: {
          allowedTCPPorts = x.allowedTCPPorts or [ ];
          allowedTCPPortRanges = x.allowedTCPPortRanges or [ ];
        };
      in
      {
        inherit (fw) enable;
        trustedInterfaces = fw.trustedInterfaces or [ ];
        interfaces = builtins.mapAttrs (_: tcp) (fw.interfaces or { });
      }
      // tcp fw;
    services.openssh = {
      inherit (ssh) enable ports;
      # sshd.nix: listenAddresses = [ { addr; port ? null; } ] (see ./semantics.nix).
      listenAddresses = map (a: {
        inherit (a) addr;
        port = a.port or null;
      }) (ssh.listenAddresses or [ ]);
      settings = {
        PermitRootLogin = ssh.settings.PermitRootLogin or null;
        PasswordAuthentication = ssh.settings.PasswordAuthentication or null;
        KbdInteractiveAuthentication = ssh.settings.KbdInteractiveAuthentication or null;
      };
    };
    virtualisation.docker.enable = config.virtualisation.docker.enable or false;
    users = {
      users = builtins.mapAttrs (_: user) config.users.users;
      mutableUsers = config.users.mutableUsers or true;
      groups = builtins.mapAttrs (_: g: { members = g.members or [ ]; }) (config.users.groups or { });
    };
    # sudo.nix, sudo-rs.nix, doas.nix: enable and wheelNeedsPassword (default true).
    security = builtins.listToAttrs (
      map
        (tool: {
          name = tool;
          value = {
            enable = l.get [ "security" tool "enable" ] false config;
            wheelNeedsPassword = l.get [ "security" tool "wheelNeedsPassword" ] true config;
          };
        })
        [
          "sudo"
          "sudo-rs"
          "doas"
        ]
    );
    environment.systemPackages = map pkgName config.environment.systemPackages;
    boot = {
      isContainer = config.boot.isContainer or false;
      loader = {
        grub = {
          inherit (grub) enable;
          efiSupport = grub.efiSupport or false;
          # grub.nix installs to the devices of every mirroredBoots entry
          # (derived from `devices`/`device`, or set directly).
          devices = l.unique (grub.devices ++ builtins.concatMap (m: m.devices) (grub.mirroredBoots or [ ]));
        };
        systemd-boot.enable = config.boot.loader.systemd-boot.enable or false;
        generic-extlinux-compatible.enable =
          config.boot.loader.generic-extlinux-compatible.enable or false;
      };
    };
    fileSystems =
      if config.fileSystems ? "/" then
        {
          "/" = {
            inherit (config.fileSystems."/") device fsType;
          };
        }
      else
        { };
    system = {
      stateVersion = if stateVersionSet then config.system.stateVersion else null;
      # Set by the enabled boot loader module ("" without one; top-level.nix).
      boot.loader.id = config.system.boot.loader.id or "";
    };
    assertions = map (a: {
      inherit (a) assertion message;
    }) config.assertions;
    inherit (config) warnings;
    vmtest = {
      testUser.name = l.get [ "vmtest" "testUser" "name" ] null config;
      allowPasswordAuthentication = l.get [ "vmtest" "allowPasswordAuthentication" ] false config;
    };
  };
in
# Forced here, whole, before any rule reads it: an error in the configuration
# (an unknown option, a type error) is then raised while reading that option,
# with the module system's message naming the file that defines it, and not
# from inside ./rules.nix.
builtins.addErrorContext "while reading nixosConfigurations.${name} for the quick tier's analysis" (
  builtins.deepSeq data data
)
