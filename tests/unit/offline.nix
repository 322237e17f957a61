# Offline evaluation of machines/nixos/vm-shared.nix WITHOUT nixpkgs.
#
# Nixpkgs cannot be fetched in every place the test suite runs, so this file
# calls the module function itself with a stub `lib`, `pkgs`, `modulesPath`
# and `config` that expose only what vm-shared.nix uses, and:
#
#  1. checks that every option the module defines is one of the NixOS options
#     listed in `knownOptions` (each looked up in nixpkgs' source; a typo such
#     as `services.openssh.setings` is reported), and that it imports only
#     known nixpkgs modules;
#  2. resolves the module's definitions (mkDefault/mkOverride/mkIf/mkMerge)
#     over the nixpkgs defaults of those options, and adds the few effects of
#     nixpkgs modules that the rules read (sshd opening its ports, docker and
#     sudo adding packages, normal users' group and shell);
#  3. turns the result into the rules' data with the same ./extract.nix the
#     flake uses, and runs the rules.
#
# What it cannot show (needs a real NixOS evaluation, i.e. nixpkgs): option
# types, other modules' definitions and their NixOS assertions and warnings,
# and whether the system derivation instantiates. Those three rules are listed
# in `notEvaluated`; their data here is empty, not "passed".
{
  module ? ../../machines/nixos/vm-shared.nix,
  # Extra definitions merged over the module's (e.g. to break it in tests).
  extraConfig ? { },
  name ? "vm",
  hostPlatform ? "x86_64-linux",
  expectedPlatform ? hostPlatform,
}:
let
  l = import ./lib.nix;

  # ---- stub lib: only what vm-shared.nix calls ------------------------------
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  stubLib = {
    mkOption = attrs: { _type = "option"; } // attrs;
    mkEnableOption = description: {
      _type = "option";
      default = false;
      inherit description;
    };
    inherit mkOverride;
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };
    types = {
      str = "str";
      bool = "bool";
      int = "int";
      port = "port";
      listOf = t: "listOf ${t}";
      nullOr = t: "nullOr ${t}";
      attrsOf = t: "attrsOf ${t}";
    };
  };

  # ---- stub pkgs: packages as name-only attrsets -----------------------------
  pkg = pname: extra: {
    type = "derivation";
    inherit pname;
    name = "${pname}-offline-stub";
  } // extra;
  stubPkgs = {
    openssh = pkg "openssh" { };
    git = pkg "git" { };
    docker = pkg "docker" { };
    sudo = pkg "sudo" { };
    bashInteractive = pkg "bash-interactive" { shellPath = "/bin/bash"; };
    shadow = pkg "shadow" { shellPath = "/bin/nologin"; };
  };
  modulesPath = "/offline-stub/nixpkgs/nixos/modules";
  # nixpkgs modules vm-shared.nix may import (checked to exist in nixpkgs).
  knownImports = [ "${modulesPath}/profiles/qemu-guest.nix" ];

  # ---- NixOS options vm-shared.nix may define, with their nixpkgs defaults ---
  # Each looked up in nixpkgs' source with the search tool. The pin is
  # nixos-26.05 @ 02e08985a27c65ffd33d434eeb2e660a2e4dc84d, but the store holds
  # other revisions; read were (commit as named by the store, or "id" where the
  # store did not name the revision of the copy it returned):
  #   services.openssh.{enable,package,openFirewall,ports,settings.PermitRootLogin,
  #     settings.PasswordAuthentication,settings.KbdInteractiveAuthentication},
  #   users.users.<name>.openssh.authorizedKeys.keys
  #       nixos/modules/services/networking/ssh/sshd.nix   id 61933264874 (nixfmt era,
  #       settings submodule, sshd-keygen.service; defaults below from it)
  #   virtualisation.docker.enable  nixos/modules/virtualisation/docker.nix   id 88920425
  #   security.sudo.{enable,wheelNeedsPassword}
  #       nixos/modules/security/sudo.nix   02627d7620b37fa0d0d51f9103b4737a3728ca7f (old copy)
  #   users.users.<name>.{isNormalUser,description,extraGroups,initialPassword,shell,...}
  #       nixos/modules/config/users-groups.nix   005ab72f9cf5a75cdcd9ff672fb4a3b03391619f
  #   boot.loader.grub.{enable,device,devices,mirroredBoots}
  #       nixos/modules/system/boot/loader/grub/grub.nix   id 25306865466
  #   fileSystems."/" by label + grub on /dev/vda = the `qemu` image variant:
  #       nixos/modules/virtualisation/disk-image.nix   5c623338d0c62d15a11b12e46ee8b04a48482c2f
  #       nixos/modules/image/images.nix                0fdcf49e8b5e244e4da5fe0113809f6efe9c1ea2
  #   networking.firewall.{enable,allowedTCPPorts}
  #       nixos/modules/services/networking/firewall.nix   0192bb844360b5b42ebaf7f575f84d79910a5927
  #   system.stateVersion (and its highestPrio test)
  #       nixos/modules/misc/version.nix   03a362fe87d4d19a45525bc0adab2f17a562f99a
  #   profiles/qemu-guest.nix   07320dad4b1663b2163c38c6f413e7f1690d348b
  #   networking.hostName vs the test framework's mkDefault <node name>:
  #       nixos/lib/testing/network.nix   003d58163f469fbeb0d51e4ef8d46af622759627
  #   Not re-read here (long-standing): networking.hostName's declaration,
  #   nix.settings.experimental-features, environment.systemPackages.
  # `<name>` matches any attribute name (attrsOf options).
  knownOptions = {
    "networking.hostName" = "nixos";
    "networking.firewall.enable" = true;
    "networking.firewall.allowedTCPPorts" = [ ];
    "nix.settings.experimental-features" = [ ];
    "services.openssh.enable" = false;
    "services.openssh.openFirewall" = true;
    "services.openssh.ports" = [ 22 ];
    "services.openssh.package" = stubPkgs.openssh; # programs.ssh.package
    "services.openssh.settings.PermitRootLogin" = "prohibit-password";
    "services.openssh.settings.PasswordAuthentication" = true;
    "services.openssh.settings.KbdInteractiveAuthentication" = true;
    "virtualisation.docker.enable" = false;
    "security.sudo.enable" = true;
    "security.sudo.wheelNeedsPassword" = true;
    "environment.systemPackages" = [ ];
    "boot.loader.grub.enable" = true;
    "boot.loader.grub.device" = "";
    "boot.loader.grub.devices" = [ ];
    "boot.loader.grub.mirroredBoots" = [ ];
    "system.stateVersion" = "26.05";
    "users.users.<name>.isNormalUser" = false;
    "users.users.<name>.description" = "";
    "users.users.<name>.extraGroups" = [ ];
    "users.users.<name>.initialPassword" = null;
    "users.users.<name>.openssh.authorizedKeys.keys" = [ ];
    "fileSystems.<name>.device" = null;
    "fileSystems.<name>.fsType" = "auto";
  };

  split = p: builtins.filter builtins.isString (builtins.split "\\." p);
  matches =
    pattern: path:
    builtins.length pattern == builtins.length path
    && builtins.all (i: builtins.elemAt pattern i == "<name>" || builtins.elemAt pattern i == builtins.elemAt path i) (
      builtins.genList (i: i) (builtins.length path)
    );
  known = path: builtins.any (p: matches (split p) path) (builtins.attrNames knownOptions);
  # ---- module definitions -> plain values ------------------------------------
  isPkg = v: builtins.isAttrs v && (v.type or null) == "derivation";
  isTree = v: builtins.isAttrs v && !(isPkg v);
  is = t: v: builtins.isAttrs v && (v._type or null) == t;
  # A false mkIf: no definition at all.
  absent = {
    _type = "absent";
  };
  # Strip mkOverride/mkDefault, evaluate mkIf, flatten mkMerge.
  strip =
    v:
    if !(isTree v) then
      v
    else if is "override" v then
      strip v.content
    else if is "if" v then
      (if v.condition then strip v.content else absent)
    else if is "merge" v then
      builtins.foldl' merge { } (map strip v.contents)
    else
      builtins.mapAttrs (_: strip) v;
  merge =
    a: b:
    if is "absent" b then
      a
    else if isTree a && isTree b then
      a // builtins.mapAttrs (n: v: if a ? ${n} then merge a.${n} v else v) b
    else
      b;
  dropAbsent =
    v:
    if isTree v then
      builtins.mapAttrs (_: dropAbsent) (
        builtins.removeAttrs v (builtins.filter (n: is "absent" v.${n}) (builtins.attrNames v))
      )
    else
      v;

  # Leaf paths of a definition tree (stops at packages and at known options).
  leaves =
    prefix: v:
    if isTree v && !(known prefix) then
      builtins.concatMap (n: leaves (prefix ++ [ n ]) v.${n}) (builtins.attrNames v)
    else
      [ prefix ];

  # Declared option defaults (the module's own `options`).
  optionDefaults =
    opts:
    if opts ? _type && opts._type == "option" then
      opts.default or null
    else
      builtins.mapAttrs (_: optionDefaults) opts;

  setPath =
    path: value:
    if path == [ ] then value else { ${builtins.head path} = setPath (builtins.tail path) value; };
  nixpkgsDefaults = builtins.foldl' merge { } (
    map (p: if builtins.elem "<name>" (split p) then { } else setPath (split p) knownOptions.${p}) (
      builtins.attrNames knownOptions
    )
  );

  called = import module {
    config = final;
    lib = stubLib;
    pkgs = stubPkgs;
    inherit modulesPath;
  };
  definitions = dropAbsent (merge (strip (called.config or { })) extraConfig);
  declared = optionDefaults (called.options or { });
  resolved = merge (merge nixpkgsDefaults declared) definitions;

  # ---- effects of nixpkgs modules that the rules read ------------------------
  ssh = resolved.services.openssh;
  userDefaults = n: u: {
    isNormalUser = false;
    enable = true;
    # users-groups.nix: isNormalUser sets group "users" and useDefaultShell
    # (users.defaultUserShell, bash); otherwise the shell defaults to
    # pkgs.shadow (nologin).
    group = if u.isNormalUser or false then "users" else "";
    shell = if u.isNormalUser or false then stubPkgs.bashInteractive else stubPkgs.shadow;
    extraGroups = [ ];
    password = null;
    initialPassword = null;
    hashedPassword = null;
    initialHashedPassword = null;
    hashedPasswordFile = null;
    openssh.authorizedKeys = {
      keys = [ ];
      keyFiles = [ ];
    };
  };
  final = merge resolved {
    networking.firewall.allowedTCPPorts =
      resolved.networking.firewall.allowedTCPPorts
      # sshd.nix: networking.firewall.allowedTCPPorts = optionals openFirewall ports
      ++ (if ssh.enable && ssh.openFirewall then ssh.ports else [ ]);
    environment.systemPackages =
      resolved.environment.systemPackages
      # docker.nix: environment.systemPackages = [ cfg.package ]
      ++ (if resolved.virtualisation.docker.enable then [ stubPkgs.docker ] else [ ])
      # sudo.nix: environment.systemPackages = [ sudo ]
      ++ (if resolved.security.sudo.enable then [ stubPkgs.sudo ] else [ ]);
    # grub.nix: devices includes `device` when it is set.
    boot.loader.grub.devices =
      resolved.boot.loader.grub.devices
      ++ (if resolved.boot.loader.grub.device != "" then [ resolved.boot.loader.grub.device ] else [ ]);
    boot.isContainer = false;
    users.users = builtins.mapAttrs (n: u: merge (userDefaults n u) u) (
      {
        # users-groups.nix always defines root.
        root = {
          group = "root";
        };
      }
      // (resolved.users.users or { })
    );
    nixpkgs.hostPlatform.system = hostPlatform;
    assertions = [ ];
    warnings = [ ];
    # Instantiation needs nixpkgs: not evaluated here (see notEvaluated).
    system.build.toplevel.drvPath = "/offline-stub";
  };

  stateVersionDefined = definitions ? system && definitions.system ? stateVersion;
  # Shaped like the part of a nixosSystem result that ./extract.nix reads.
  nixos = {
    config = final;
    options.system.stateVersion.highestPrio = if stateVersionDefined then 100 else 1500;
  };
  data = import ./extract.nix { inherit name expectedPlatform nixos; };
  r = import ./rules.nix;
  definedPaths = map (builtins.concatStringsSep ".") (leaves [ ] definitions);
in
{
  inherit data definedPaths nixos;
  imports = map toString (called.imports or [ ]);
  unknownImports = builtins.filter (i: !(builtins.elem (toString i) knownImports)) (
    called.imports or [ ]
  );
  unknownOptions = builtins.filter (p: !(known (split p))) definedPaths;
  findings = r.analyse data;
  notEvaluated = [
    "nixos-assertions"
    "nixos-warnings"
    "system-instantiates"
  ];
}
