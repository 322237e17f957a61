# Offline evaluation of machines/nixos/vm-shared.nix WITHOUT nixpkgs.
#
# Nixpkgs cannot be fetched in every place the test suite runs, so this file
# calls the module function itself with a stub `lib`, `pkgs`, `modulesPath`
# and `config` that expose only what vm-shared.nix uses, and:
#
#  1. checks every option the module (and `extraConfig`) defines against the
#     NixOS options listed in `nixosOptions` (each looked up in nixpkgs'
#     source) and the module's own `options` (vmtest.*). An unknown option
#     makes `nixos.config`, and so the check built from it, fail with the
#     module system's message naming the option and the file; it also imports
#     only known nixpkgs modules;
#  2. merges the definitions the way lib/modules.nix does: per option, the
#     highest priority wins (mkForce 50 < plain 100 < mkDefault 1000 < option
#     default 1500), list options concatenate the definitions of that
#     priority in mkOrder order (mkBefore 500, plain 1000, mkAfter 1500;
#     stable), other options must agree (else "conflicting definition
#     values"); mkIf/mkMerge are pushed down to each option, and each value is
#     type-checked (a wrong type fails naming option and file). NOT modelled:
#     `apply`, submodule defaults beyond the ones below, and an attribute
#     under a false mkIf still exists (its options take their defaults);
#  3. adds, as definitions, the effects of nixpkgs modules the rules read
#     (sshd opening its ports, programs.ssh and system-path putting packages
#     in environment.systemPackages, docker and sudo adding theirs, the
#     built-in sudo/sudo-rs/doas rules, the firewall trusting "lo", normal
#     users' group and shell, each loader's system.boot.loader.id, joined
#     when two are on), and turns the result into the rules' data with the
#     same ./extract.nix and ./analyse.nix the flake uses;
#  4. has the traps real NixOS sets for an analysis that forces too much:
#     filesystems.nix's first assertion, whose message does not evaluate
#     unless it fails, and sshd.nix's assertions, whose first boolean fails to
#     evaluate on a listenAddresses entry without addr.
#
# What it cannot show (needs a real NixOS evaluation, i.e. nixpkgs): all other
# modules' definitions, assertions and warnings, and whether the system
# derivation instantiates. Those rules are listed in `notEvaluated`; their
# data here is empty, not "passed". Real evaluations are recorded in
# ./recorded (see ./README.md) and checked against this model.
{
  module ? ../../machines/nixos/vm-shared.nix,
  # Extra definitions merged with the module's, like a second module (e.g. to
  # break it in tests): an attrset, or a function of the stub lib, e.g.
  # `lib: { virtualisation.docker.enable = lib.mkForce false; }`.
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
  mkOrder = priority: content: {
    _type = "order";
    inherit priority content;
  };
  stubLib = {
    mkOption = attrs: { _type = "option"; } // attrs;
    mkEnableOption = description: {
      _type = "option";
      type = "bool";
      default = false;
      inherit description;
    };
    inherit mkOverride mkOrder;
    mkDefault = mkOverride 1000;
    mkOptionDefault = mkOverride 1500;
    mkForce = mkOverride 50;
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
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
      package = "package";
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
    coreutils = pkg "coreutils" { };
    bashInteractive = pkg "bash-interactive" { shellPath = "/bin/bash"; };
    shadow = pkg "shadow" { shellPath = "/bin/nologin"; };
    # lib.systems' platform attributes that a module may branch on.
    stdenv.hostPlatform = {
      system = hostPlatform;
      isx86 = builtins.elem hostPlatform [
        "x86_64-linux"
        "i686-linux"
      ];
      isAarch64 = hostPlatform == "aarch64-linux";
      isLinux = true;
    };
  };
  modulesPath = "/offline-stub/nixpkgs/nixos/modules";
  # nixpkgs modules vm-shared.nix may import (checked to exist in nixpkgs).
  knownImports = [ "${modulesPath}/profiles/qemu-guest.nix" ];

  # ---- NixOS options vm-shared.nix may define: type and nixpkgs default ------
  # Each looked up in nixpkgs' source with the search tool. The pin is
  # nixos-26.05 @ 02e08985a27c65ffd33d434eeb2e660a2e4dc84d, but the store holds
  # other revisions; read were (commit as named by the store, or "id" where the
  # store did not name the revision of the copy it returned):
  #   services.openssh.{enable,package,openFirewall,ports,listenAddresses,settings.*},
  #   users.users.<name>.openssh.authorizedKeys.{keys,keyFiles}
  #       nixos/modules/services/networking/ssh/sshd.nix   id 61933264874 and id 84058930
  #       (settings is a freeform submodule: any settings.<name> is an option)
  #   programs.ssh.package -> environment.corePackages   programs/ssh.nix   id 52451456462
  #   environment.{systemPackages,corePackages}   config/system-path.nix   0354e8b747c8d69802d160ff408d1aece50472c9
  #   virtualisation.docker.enable  nixos/modules/virtualisation/docker.nix   id 88920425
  #   security.sudo.{enable,wheelNeedsPassword}
  #       nixos/modules/security/sudo.nix   02627d7620b37fa0d0d51f9103b4737a3728ca7f (old copy)
  #   security.sudo-rs.*   security/sudo-rs.nix   0a37316d6cfea44280f4470b6867a711a24606bd
  #   security.doas.*      security/doas.nix      01239b864f8472863b56a1fc26876324d9cd7c90
  #   users.mutableUsers, users.groups.<name>.members,
  #   users.users.<name>.{isNormalUser,description,extraGroups,group,enable,name,
  #     password,initialPassword,hashedPassword,initialHashedPassword,hashedPasswordFile,shell}
  #       nixos/modules/config/users-groups.nix   005ab72f9cf5a75cdcd9ff672fb4a3b03391619f
  #   boot.loader.grub.{enable,device,devices,mirroredBoots}
  #       nixos/modules/system/boot/loader/grub/grub.nix   id 25306865466
  #   fileSystems."/" by label + grub on /dev/vda = the `qemu` image variant,
  #   systemd-boot + "/boot" = ESP by label = the EFI variant:
  #       nixos/modules/virtualisation/disk-image.nix   5c623338d0c62d15a11b12e46ee8b04a48482c2f
  #       nixos/modules/image/images.nix                0fdcf49e8b5e244e4da5fe0113809f6efe9c1ea2
  #   networking.firewall.{enable,allowedTCPPorts,allowedTCPPortRanges,interfaces}
  #       nixos/modules/services/networking/firewall.nix   0192bb844360b5b42ebaf7f575f84d79910a5927
  #   system.stateVersion (and its highestPrio test)
  #       nixos/modules/misc/version.nix   03a362fe87d4d19a45525bc0adab2f17a562f99a
  #   profiles/qemu-guest.nix   07320dad4b1663b2163c38c6f413e7f1690d348b
  #   networking.hostName vs the test framework's mkDefault <node name>:
  #       nixos/lib/testing/network.nix   003d58163f469fbeb0d51e4ef8d46af622759627
  #   Not re-read here (long-standing): networking.hostName's declaration,
  #   networking.firewall.trustedInterfaces, nix.settings (freeform),
  #   boot.loader.grub.efiSupport, boot.loader.systemd-boot.enable,
  #   boot.loader.efi.canTouchEfiVariables.
  # `<name>` matches any attribute name (attrsOf options); an exact name wins.
  # Types are the stub's names ("listOf str", "nullOr str", "anything", ...).
  opt = type: default: { inherit type default; };
  pattern = type: { inherit type; };
  nixosOptions = {
    "networking.hostName" = opt "str" "nixos";
    "networking.firewall.enable" = opt "bool" true;
    "networking.firewall.allowedTCPPorts" = opt "listOf port" [ ];
    "networking.firewall.allowedTCPPortRanges" = opt "listOf attrs" [ ];
    "networking.firewall.trustedInterfaces" = opt "listOf str" [ ];
    "networking.firewall.interfaces.<name>.allowedTCPPorts" = pattern "listOf port";
    "networking.firewall.interfaces.<name>.allowedTCPPortRanges" = pattern "listOf attrs";
    "nix.settings.experimental-features" = opt "listOf str" [ ];
    "nix.settings.<name>" = pattern "anything";
    "services.openssh.enable" = opt "bool" false;
    "services.openssh.openFirewall" = opt "bool" true;
    "services.openssh.ports" = opt "listOf port" [ 22 ];
    "services.openssh.listenAddresses" = opt "listOf attrs" [ ];
    "services.openssh.startWhenNeeded" = opt "bool" false;
    "services.openssh.package" = opt "package" stubPkgs.openssh;
    "services.openssh.settings.PermitRootLogin" = opt "str" "prohibit-password";
    "services.openssh.settings.PasswordAuthentication" = opt "bool" true;
    "services.openssh.settings.KbdInteractiveAuthentication" = opt "bool" true;
    "services.openssh.settings.UsePAM" = opt "bool" true;
    "services.openssh.settings.<name>" = pattern "anything";
    "programs.ssh.package" = opt "package" stubPkgs.openssh;
    "virtualisation.docker.enable" = opt "bool" false;
    "security.sudo.enable" = opt "bool" true;
    "security.sudo.wheelNeedsPassword" = opt "bool" true;
    "security.sudo-rs.enable" = opt "bool" false;
    "security.sudo-rs.wheelNeedsPassword" = opt "bool" true;
    "security.doas.enable" = opt "bool" false;
    "security.doas.wheelNeedsPassword" = opt "bool" true;
    "security.sudo.extraRules" = opt "listOf attrs" [ ];
    "security.sudo.defaultOptions" = opt "listOf str" [ "SETENV" ];
    "security.sudo-rs.extraRules" = opt "listOf attrs" [ ];
    "security.sudo-rs.defaultOptions" = opt "listOf str" [ "SETENV" ];
    "security.doas.extraRules" = opt "listOf attrs" [ ];
    "environment.systemPackages" = opt "listOf package" [ ];
    # No default: system-path.nix defines it (see `effects`).
    "environment.corePackages" = pattern "listOf package";
    "boot.loader.grub.enable" = opt "bool" true;
    "boot.loader.grub.device" = opt "str" "";
    "boot.loader.grub.devices" = opt "listOf str" [ ];
    "boot.loader.grub.mirroredBoots" = opt "listOf attrs" [ ];
    "boot.loader.grub.efiSupport" = opt "bool" false;
    "boot.loader.systemd-boot.enable" = opt "bool" false;
    "boot.loader.efi.canTouchEfiVariables" = opt "bool" false;
    "system.stateVersion" = opt "str" "26.05";
    "users.mutableUsers" = opt "bool" true;
    "users.groups.<name>.members" = pattern "listOf str";
    "users.users.<name>.enable" = pattern "bool";
    "users.users.<name>.name" = pattern "str";
    "users.users.<name>.isNormalUser" = pattern "bool";
    "users.users.<name>.description" = pattern "str";
    "users.users.<name>.group" = pattern "str";
    "users.users.<name>.extraGroups" = pattern "listOf str";
    "users.users.<name>.shell" = pattern "anything";
    "users.users.<name>.password" = pattern "nullOr str";
    "users.users.<name>.initialPassword" = pattern "nullOr str";
    "users.users.<name>.hashedPassword" = pattern "nullOr str";
    "users.users.<name>.initialHashedPassword" = pattern "nullOr str";
    "users.users.<name>.hashedPasswordFile" = pattern "nullOr str";
    "users.users.<name>.openssh.authorizedKeys.keys" = pattern "listOf str";
    "users.users.<name>.openssh.authorizedKeys.keyFiles" = pattern "listOf anything";
    "fileSystems.<name>.device" = pattern "nullOr str";
    "fileSystems.<name>.fsType" = pattern "str";
    "fileSystems.<name>.mountPoint" = pattern "str";
    "users.users.<name>.uid" = pattern "nullOr int";
    "users.groups.<name>.gid" = pattern "nullOr int";
  };

  split = p: builtins.filter builtins.isString (builtins.split "\\." p);
  dotted = builtins.concatStringsSep ".";
  isPkg = v: builtins.isAttrs v && (v.type or null) == "derivation";
  isTree = v: builtins.isAttrs v && !(isPkg v);
  is = t: v: builtins.isAttrs v && (v._type or null) == t;

  # ---- the module and its own options ----------------------------------------
  called = import module {
    config = final;
    lib = stubLib;
    pkgs = stubPkgs;
    inherit modulesPath;
  };
  # vmtest.* as declared by the module: path -> { type; default; }.
  declared =
    let
      go =
        path: v:
        if is "option" v then
          [
            {
              name = dotted path;
              value = {
                type = v.type or "anything";
              } // (if v ? default then { inherit (v) default; } else { });
            }
          ]
        else if builtins.isAttrs v then
          builtins.concatMap (n: go (path ++ [ n ]) v.${n}) (builtins.attrNames v)
        else
          [ ];
    in
    builtins.listToAttrs (go [ ] (called.options or { }));
  options = nixosOptions // declared;
  exact = builtins.filter (p: !(builtins.elem "<name>" (split p))) (builtins.attrNames options);
  patterns = map (p: {
    inherit p;
    parts = split p;
  }) (builtins.filter (p: builtins.elem "<name>" (split p)) (builtins.attrNames options));
  matches =
    parts: path:
    builtins.length parts == builtins.length path
    && builtins.all (i: builtins.elemAt parts i == "<name>" || builtins.elemAt parts i == builtins.elemAt path i) (
      builtins.genList (i: i) (builtins.length path)
    );
  # The option declared at `path`, or null.
  optionAt =
    path:
    let
      p = dotted path;
      found = builtins.filter (x: matches x.parts path) patterns;
    in
    if builtins.elem p exact then
      options.${p}
    else if found != [ ] then
      options.${(builtins.head found).p}
    else
      null;

  # ---- types ------------------------------------------------------------------
  typeOk =
    t: v:
    let
      inner = prefix: builtins.substring (builtins.stringLength prefix) (-1) t;
    in
    if t == "bool" then
      builtins.isBool v
    else if t == "str" then
      builtins.isString v
    else if t == "int" || t == "port" then
      builtins.isInt v
    else if t == "package" then
      isPkg v
    else if t == "attrs" then
      builtins.isAttrs v
    else if l.hasPrefix "nullOr " t then
      v == null || typeOk (inner "nullOr ") v
    else if l.hasPrefix "listOf " t then
      builtins.isList v && builtins.all (typeOk (inner "listOf ")) v
    else
      true;
  show =
    v:
    if isPkg v then
      "«derivation ${v.name}»"
    else
      let
        j = builtins.tryEval (builtins.toJSON v);
      in
      if j.success then j.value else "«value»";

  # ---- merging, as lib/modules.nix does it ------------------------------------
  # A definition: { file; prio; conds; value; }. Wrappers are peeled at each
  # level; mkIf conditions are kept and only evaluated at the option itself.
  peel =
    def:
    let
      v = def.value;
    in
    if is "override" v then
      peel (def // { prio = v.priority; value = v.content; })
    else if is "if" v then
      peel (def // { conds = def.conds ++ [ v.condition ]; value = v.content; })
    else if is "merge" v then
      builtins.concatMap (c: peel (def // { value = c; })) v.contents
    else if is "order" v then
      peel (def // { order = v.priority; value = v.content; })
    else
      [ def ];

  resolve =
    path: defs:
    let
      peeled = builtins.concatMap peel defs;
      trees = builtins.filter (d: isTree d.value) peeled;
      names = l.unique (builtins.concatMap (d: builtins.attrNames d.value) trees);
    in
    if optionAt path != null || trees == [ ] then
      optionValue path peeled
    else
      builtins.listToAttrs (
        map (n: {
          name = n;
          value = resolve (path ++ [ n ]) (
            builtins.concatMap (d: if d.value ? ${n} then [ (d // { value = d.value.${n}; }) ] else [ ]) trees
          );
        }) names
      );

  optionValue =
    path: defs:
    let
      o = optionAt path;
      p = dotted path;
      active = builtins.filter (d: builtins.all (c: c) d.conds) defs;
      best = builtins.foldl' (m: d: if d.prio < m then d.prio else m) 9999 active;
      top = builtins.filter (d: d.prio == best) active;
      each = f: builtins.concatStringsSep "" (map (d: "\n- In `${d.file}': ${show d.value}") f);
      values = map (
        d:
        if o == null || typeOk o.type d.value then
          d.value
        else
          throw "A definition for option `${p}' is not of type `${o.type}'. Definition values:${each [ d ]}"
      ) top;
    in
    if active == [ ] then
      (if o == null then null else o.default or null)
    else if o != null && l.hasPrefix "listOf " o.type then
      # lib/modules.nix sortProperties: by mkOrder priority (default 1000), stable.
      builtins.concatLists (
        map (x: x.value) (
          builtins.sort (a: b: a.order < b.order) (
            builtins.genList (i: {
              inherit (builtins.elemAt top i) order;
              value = builtins.elemAt values i;
            }) (builtins.length top)
          )
        )
      )
    else if builtins.all (v: v == builtins.head values) values then
      builtins.head values
    else
      throw "The option `${p}' has conflicting definition values:${each top}";

  setPath =
    path: value:
    if path == [ ] then value else { ${builtins.head path} = setPath (builtins.tail path) value; };
  def = file: prio: value: {
    inherit file prio value;
    conds = [ ];
    order = 1000;
  };
  defaults = map (p: def "nixpkgs: option default" 1500 (setPath (split p) options.${p}.default)) (
    builtins.filter (p: options.${p} ? default) exact
  );

  # ---- effects of nixpkgs modules that the rules read, as definitions ---------
  cfg = final;
  when = cond: d: d // { conds = [ cond ]; };
  effects = [
    # sshd.nix: networking.firewall.allowedTCPPorts = optionals openFirewall ports
    (when (cfg.services.openssh.enable && cfg.services.openssh.openFirewall) (
      def "nixpkgs: services/networking/ssh/sshd.nix" 100 {
        networking.firewall.allowedTCPPorts = cfg.services.openssh.ports;
      }
    ))
    # programs/ssh.nix: environment.corePackages = [ cfg.package ] (always)
    (def "nixpkgs: programs/ssh.nix" 100 { environment.corePackages = [ cfg.programs.ssh.package ]; })
    # system-path.nix: corePackages = (core tools); systemPackages = corePackages ++ defaultPackages
    (def "nixpkgs: config/system-path.nix" 100 {
      environment.corePackages = [ stubPkgs.coreutils ];
      environment.systemPackages = cfg.environment.corePackages;
    })
    # docker.nix: environment.systemPackages = [ cfg.package ]
    (when cfg.virtualisation.docker.enable (
      def "nixpkgs: virtualisation/docker.nix" 100 { environment.systemPackages = [ stubPkgs.docker ]; }
    ))
    # sudo.nix: environment.systemPackages = [ sudo ]
    (when cfg.security.sudo.enable (
      def "nixpkgs: security/sudo.nix" 100 { environment.systemPackages = [ stubPkgs.sudo ]; }
    ))
    # systemd-boot.nix (stored copies ids 110455214, 15680538005): config = mkIf cfg.enable
    # { boot.loader.grub.enable = mkDefault false; ... }: GRUB is on by default until
    # another loader turns it off.
    (when cfg.boot.loader.systemd-boot.enable (
      def "nixpkgs: system/boot/loader/systemd-boot/systemd-boot.nix" 1000 {
        boot.loader.grub.enable = false;
      }
    ))
    # grub.nix: devices includes `device` when it is set.
    (when (cfg.boot.loader.grub.device != "") (
      def "nixpkgs: system/boot/loader/grub/grub.nix" 100 {
        boot.loader.grub.devices = [ cfg.boot.loader.grub.device ];
      }
    ))
    # firewall.nix (nixos-24.11): config = mkIf cfg.enable { ...
    # networking.firewall.trustedInterfaces = [ "lo" ]; }
    (when cfg.networking.firewall.enable (
      def "nixpkgs: services/networking/firewall.nix" 100 {
        networking.firewall.trustedInterfaces = [ "lo" ];
      }
    ))
  ]
  # sudo.nix and sudo-rs.nix (nixos-24.11): extraRules gets root's rule at
  # mkOrder 400 and wheel's at mkOrder 600, NOPASSWD unless wheelNeedsPassword,
  # each with defaultOptions; doas.nix: wheel's at mkOrder 600, noPass =
  # !wheelNeedsPassword. A rule of the configuration (order 1000) comes after.
  ++ map (
    tool:
    let
      t = cfg.security.${tool};
      all = opts: [
        {
          command = "ALL";
          options = opts ++ t.defaultOptions;
        }
      ];
    in
    when t.enable (
      def "nixpkgs: security/${tool}.nix" 100 {
        security.${tool}.extraRules = stubLib.mkMerge [
          (mkOrder 400 [
            {
              users = [ "root" ];
              commands = all [ ];
            }
          ])
          (mkOrder 600 [
            {
              groups = [ "wheel" ];
              commands = all (if t.wheelNeedsPassword then [ ] else [ "NOPASSWD" ]);
            }
          ])
        ];
      }
    )
  ) [ "sudo" "sudo-rs" ]
  ++ [
    (when cfg.security.doas.enable (
      def "nixpkgs: security/doas.nix" 100 {
        security.doas.extraRules = mkOrder 600 [
          {
            groups = [ "wheel" ];
            noPass = !cfg.security.doas.wheelNeedsPassword;
          }
        ];
      }
    ))
  ];

  # ---- NixOS assertions the rules' options meet -------------------------------
  # Their booleans are cheap, their messages may not evaluate unless they fail.
  assertions =
    [
      # filesystems.nix (nixos-24.11): the message reads `fileSystems'.cycle`,
      # which toposort returns only when it finds a cycle. Offline there is no
      # toposort: the file systems are taken as sorted, and reading the message
      # fails exactly as it does in NixOS ("attribute 'cycle' missing").
      (
        let
          fileSystems' = {
            result = builtins.attrValues cfg.fileSystems;
          };
        in
        {
          assertion = !(fileSystems' ? cycle);
          message = "The ‘fileSystems’ option can't be topologically sorted: mountpoint dependency path ${
            builtins.concatStringsSep " -> " (map (x: x.mountPoint) fileSystems'.cycle)
          }";
        }
      )
    ]
    # sshd.nix (nixos-24.11 and later), under mkIf cfg.enable, in its order:
    # the Kerberos assertion matches the generated sshd_config, which has a
    # "ListenAddress ${addr}" line per entry, so an entry without addr fails
    # there ("cannot coerce null to a string"), before the assertion that
    # names it: NixOS never shows "addr must be specified".
    ++ (
      if cfg.services.openssh.enable then
        [
          {
            assertion =
              builtins.match ".*KerberosAuthentication yes.*" (
                builtins.concatStringsSep "" (
                  map (a: "ListenAddress ${a.addr}\n") cfg.services.openssh.listenAddresses
                )
              ) == null;
            message = "cannot enable Kerberos authentication without using a package with Kerberos support";
          }
        ]
        ++ map (a: {
          assertion = a.addr != null;
          message = "addr must be specified in each listenAddresses entry";
        }) cfg.services.openssh.listenAddresses
      else
        [ ]
    );

  sources = [
    (def (toString module) 100 (called.config or { }))
    (def "extraConfig" 100 (if builtins.isFunction extraConfig then extraConfig stubLib else extraConfig))
  ];
  merged = resolve [ ] (defaults ++ sources ++ effects);

  # users-groups.nix: isNormalUser sets group "users" and useDefaultShell
  # (users.defaultUserShell, bash); otherwise the shell defaults to
  # pkgs.shadow (nologin). It always defines root.
  userDefaults = u: {
    isNormalUser = false;
    enable = true;
    group = if u.isNormalUser or false then "users" else "";
    shell = if u.isNormalUser or false then stubPkgs.bashInteractive else stubPkgs.shadow;
    extraGroups = [ ];
    uid = null;
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
  # Submodule defaults of the list and attrsOf options the rules read
  # (sudo.nix, doas.nix, filesystems.nix, firewall.nix; nixos-24.11).
  sudoRuleDefaults = r: {
    users = [ ];
    groups = [ ];
    host = "ALL";
    runAs = "ALL:ALL";
  } // r // {
    commands = map (c: if builtins.isString c then c else { options = [ ]; } // c) (r.commands or [ ]);
  };
  doasRuleDefaults = {
    users = [ ];
    groups = [ ];
    noPass = false;
    persist = false;
    keepEnv = false;
    runAs = null;
    cmd = null;
    args = null;
  };
  withRuleDefaults =
    tool: t:
    t
    // {
      extraRules = map (
        r: if tool == "doas" then doasRuleDefaults // r else sudoRuleDefaults r
      ) (t.extraRules or [ ]);
    };
  # Every loader module sets system.boot.loader.id = "<its id>"; the option
  # has no type, so lib/options.nix mergeDefaultOption concatenates the
  # strings of two enabled loaders, in module-list.nix order.
  loaderIds = builtins.filter (x: x.enable) [
    {
      id = "grub";
      enable = cfg.boot.loader.grub.enable;
    }
    {
      id = "systemd-boot";
      enable = cfg.boot.loader.systemd-boot.enable;
    }
  ];

  final = merged // {
    users = (merged.users or { }) // {
      users = builtins.mapAttrs (n: u: l.update ({ name = n; } // userDefaults u) u) (
        {
          root = {
            group = "root";
            shell = stubPkgs.bashInteractive;
          };
        }
        // (merged.users.users or { })
      );
      groups = builtins.mapAttrs (_: g: {
        members = [ ];
        gid = null;
      } // g) (merged.users.groups or { });
    };
    networking = merged.networking // {
      firewall = merged.networking.firewall // {
        interfaces = builtins.mapAttrs (_: i: {
          allowedTCPPorts = [ ];
          allowedTCPPortRanges = [ ];
        } // i) (merged.networking.firewall.interfaces or { });
      };
    };
    security = builtins.mapAttrs withRuleDefaults merged.security;
    services = merged.services // {
      openssh = merged.services.openssh // {
        listenAddresses = map (a: {
          addr = null;
          port = null;
        } // a) merged.services.openssh.listenAddresses;
      };
    };
    fileSystems = builtins.mapAttrs (n: fs: {
      mountPoint = n;
      device = null;
      fsType = "auto";
    } // fs) (merged.fileSystems or { });
    boot = l.update (merged.boot or { }) { isContainer = false; };
    nixpkgs.hostPlatform.system = hostPlatform;
    inherit assertions;
    warnings = [ ];
    # Instantiation needs nixpkgs: not evaluated here (see notEvaluated).
    system = (merged.system or { }) // {
      build.toplevel.drvPath = "/offline-stub";
      boot.loader.id = builtins.concatStringsSep "" (map (x: x.id) loaderIds);
    };
  };

  # ---- definitions that name no option ----------------------------------------
  # Every definition path, known or not (mkIf conditions ignored, as the module
  # system reports an undeclared option under a false mkIf too).
  walk =
    file: path: v:
    if is "override" v || is "order" v || is "if" v then
      walk file path v.content
    else if is "merge" v then
      builtins.concatMap (walk file path) v.contents
    else if optionAt path != null || !(isTree v) then
      [
        {
          inherit file;
          path = dotted path;
          known = optionAt path != null;
        }
      ]
    else
      builtins.concatMap (n: walk file (path ++ [ n ]) v.${n}) (builtins.attrNames v);
  defined = builtins.concatMap (s: walk s.file [ ] s.value) sources;
  unknown = builtins.filter (d: !d.known) defined;
  unknownOptions = map (d: d.path) unknown;
  checkedConfig =
    if unknown == [ ] then
      final
    else
      throw (
        builtins.concatStringsSep "\n" (
          map (d: "The option `${d.path}' does not exist. Definition values:\n- In `${d.file}'") unknown
        )
      );

  stateVersionDefined = builtins.elem "system.stateVersion" definedPaths;
  definedPaths = map (d: d.path) defined;
  # Shaped like the part of a nixosSystem result that ./extract.nix reads.
  nixos = {
    config = checkedConfig;
    options.system.stateVersion.highestPrio = if stateVersionDefined then 100 else 1500;
  };
  data = import ./extract.nix { inherit name expectedPlatform nixos; };
in
{
  inherit
    data
    definedPaths
    nixos
    unknownOptions
    ;
  imports = map toString (called.imports or [ ]);
  unknownImports = builtins.filter (i: !(builtins.elem (toString i) knownImports)) (
    called.imports or [ ]
  );
  # Forced before the rules run, as ./check.nix does: an error in the configuration is
  # reported from reading it (./extract.nix), and the trace Nix 2.26 prints names no rule.
  findings = builtins.seq data (import ./analyse.nix data);
  notEvaluated = [
    "nixos-warnings"
    "system-instantiates"
  ];
}
