# What NixOS does with the options the rules read, as nixpkgs implements it.
# Builtins only (plus ./lib.nix), on the plain data described in ./rules.nix.
#
# Each fact names the nixpkgs file it was read from and the revision the
# search store returned (the pinned nixos-26.05 02e08985a27c is not in the
# store, so these are the nearest stored copies; "id" where the store named
# no commit for the copy it returned).
let
  l = import ./lib.nix;
  inherit (l) get;
in
rec {
  users = d: get [ "users" "users" ] { } d;
  # The login name: users.users.<attr>.name defaults to the attribute name.
  userName = attr: u: if (u.name or null) != null then u.name else attr;

  # ---- Group membership ----------------------------------------------------
  # nixos/modules/config/users-groups.nix (005ab72f9cf5a75cdcd9ff672fb4a3b03391619f):
  # a user is in a group through its primary `group` (isNormalUser sets it to
  # mkDefault "users"), its `extraGroups`, or `users.groups.<g>.members`
  # (which that module also fills from extraGroups of enabled users). A user
  # with enable = false is not created at all.
  inGroup =
    d: group: attr: u:
    (u.enable or true)
    && (
      (u.group or "") == group
      || builtins.elem group (u.extraGroups or [ ])
      || builtins.elem (userName attr u) (get [ "users" "groups" group "members" ] [ ] d)
    );
  # Every group the user is in (primary first), as getgrouplist(3) lists them.
  groupsOf =
    d: attr: u:
    builtins.filter (g: inGroup d g attr u) (
      l.unique ([ (u.group or "") ] ++ (u.extraGroups or [ ]) ++ builtins.attrNames (get [ "users" "groups" ] { } d))
    );

  # ---- Passwords -------------------------------------------------------------
  # users-groups.nix (005ab72f): the password options override each other in a
  # fixed order, the right one winning:
  #   users.mutableUsers = true (the default):
  #     initialHashedPassword -> initialPassword -> hashedPassword -> password -> hashedPasswordFile
  #   users.mutableUsers = false:
  #     initialHashedPassword -> hashedPassword -> initialPassword -> password -> hashedPasswordFile
  # A hashed password of "" logs in without a password at the console "but not
  # via remote services such as SSH, or indirectly via su or sudo"; null, "!",
  # "!!" and "*" disable password login (its allowsLogin). A hash that merely
  # starts with "!" or "*" is no valid crypt(3) result either (passwd(5): such
  # a field locks password login), so it is treated as locked too. A clear-text
  # `password` (even "") is hashed and so is a real password.
  # With no option set the user has no password at all.
  #
  # Any other hash must be one libxcrypt verifies: users-groups.nix (nixos-24.11
  # tree, /work/real/nixpkgs) warns "The password hash of user ... may be
  # invalid. You must set a valid hash or the user will be locked out" when
  # hashedPassword does not match `mcfHash` below, built from
  # pkgs.libxcrypt.enabledCryptSchemeIds (libxcrypt/default.nix there: y, gy,
  # 7, 2b, 2y, 2a, 6; DES, MD5 and SHA-256 crypt are not enabled). Such a hash
  # never verifies (crypt(3) fails on it), so it is no usable password; the same
  # holds for initialHashedPassword, which lands in /etc/shadow the same way
  # (NixOS does not warn about that one).
  cryptSchemeIds = [
    "y"
    "gy"
    "7"
    "2b"
    "2y"
    "2a"
    "6"
  ];
  mcfHash =
    let
      sep = "\\$";
      base64 = "[a-zA-Z0-9./]+";
      id = "(${builtins.concatStringsSep "|" cryptSchemeIds})";
      name = "[a-z0-9-]+";
      value = "[a-zA-Z0-9/+.-]+";
      options = "${name}(=${value})?(,${name}=${value})*";
      scheme = "${id}(${sep}${options})?";
      content = "${base64}${sep}${base64}(${sep}${base64})?";
    in
    "^${sep}${scheme}${sep}${content}$";
  isCryptHash = h: builtins.match mcfHash h != null;
  passwordOrder =
    d:
    if get [ "users" "mutableUsers" ] true d then
      [
        "initialHashedPassword"
        "initialPassword"
        "hashedPassword"
        "password"
        "hashedPasswordFile"
      ]
    else
      [
        "initialHashedPassword"
        "hashedPassword"
        "initialPassword"
        "password"
        "hashedPasswordFile"
      ];

  # { state = "none" | "locked" | "empty" | "invalid" | "set"; via = option name or null; }
  password =
    d: u:
    let
      set = builtins.filter (o: (u.${o} or null) != null) (passwordOrder d);
      via = if set == [ ] then null else l.last set;
      v = u.${via};
      hashed = builtins.elem via [
        "initialHashedPassword"
        "hashedPassword"
      ];
    in
    {
      inherit via;
      state =
        if via == null then
          "none"
        # hashedPasswordFile: read at activation; its content is unknown here.
        else if !hashed then
          "set"
        else if v == "" then
          "empty"
        else if l.hasPrefix "!" v || l.hasPrefix "*" v then
          "locked"
        else if !(isCryptHash v) then
          "invalid"
        else
          "set";
    };

  # Why a password does not let a user in ("" when it does), for messages.
  passwordText =
    p:
    if p.state == "none" then
      "no password"
    else if p.state == "locked" then
      "a locked password (${p.via} starts with \"!\" or \"*\")"
    else if p.state == "empty" then
      "an empty ${p.via} (console only, never sudo)"
    else if p.state == "invalid" then
      "a ${p.via} that is not a crypt(3) hash NixOS accepts (NixOS warns that such a user may be locked out)"
    else
      "a password";

  # ---- SSH keys --------------------------------------------------------------
  keys = u: (u.openssh.authorizedKeys.keys or [ ]) ++ (u.openssh.authorizedKeys.keyFiles or [ ]);

  # ---- Login shell -----------------------------------------------------------
  # users-groups.nix: shell defaults to pkgs.shadow (nologin); isNormalUser
  # sets useDefaultShell (users.defaultUserShell, bash). The data holds its basename.
  loginShell =
    u:
    let
      s = u.shell or "bash";
    in
    s != null
    && !(builtins.elem s [
      "nologin"
      "false"
    ]);

  # ---- Privilege escalation --------------------------------------------------
  # Read in the nixos-24.11 tree (/work/real/nixpkgs) and checked there by real
  # evaluations:
  #   sudo     nixos/modules/security/sudo.nix: extraRules gets
  #            mkOrder 400 { users = [ "root" ]; commands = [ { command = "ALL"; options = defaultOptions; } ]; }
  #            mkOrder 600 { groups = [ "wheel" ]; commands = [ { command = "ALL";
  #                          options = optional (!wheelNeedsPassword) "NOPASSWD" ++ defaultOptions; } ]; }
  #            and writes one sudoers line per user and group of every rule, in
  #            list order: `%wheel  ALL=(ALL:ALL)    NOPASSWD:SETENV: ALL`.
  #            A rule of the configuration (default order 1000) comes after
  #            the wheel rule; mkBefore (500) puts it before.
  #   sudo-rs  nixos/modules/security/sudo-rs.nix: the same rules and sudoers lines.
  #   doas     nixos/modules/security/doas.nix: extraRules gets
  #            mkOrder 600 { groups = [ "wheel" ]; noPass = !wheelNeedsPassword; };
  #            `permit [nopass] user|:group [as runAs] [cmd cmd]`; its PAM service
  #            sets allowNullPassword = true.
  # sudoers(5): "Where there are multiple matches, the last match is used";
  # a PASSWD/NOPASSWD tag holds for the later commands of the same line until
  # the opposite tag. doas.conf(5): "The last matching rule determines the
  # action taken." So the last rule for the user (by name or uid, or one of its
  # groups by name or gid) that lets it run every command as root decides
  # whether a password is asked. Not read: extraConfig (sudoers `Defaults`,
  # doas lines written after the rules).
  # An empty hashed password never works for sudo (users-groups.nix, above);
  # doas' PAM service accepts it.
  #
  # extraRules in the data are the merged list NixOS has (the module's own
  # rules included). Data without them (fixtures, ./offline.nix) gets the
  # module's own rules only, from wheelNeedsPassword and defaultOptions.
  builtinRules =
    name: cfg:
    let
      nopass = !(cfg.wheelNeedsPassword or true);
      defaultOptions = cfg.defaultOptions or [ "SETENV" ];
      all = opts: [
        {
          command = "ALL";
          options = opts ++ defaultOptions;
        }
      ];
    in
    if name == "doas" then
      [
        {
          groups = [ "wheel" ];
          noPass = nopass;
        }
      ]
    else
      [
        {
          users = [ "root" ];
          commands = all [ ];
        }
        {
          groups = [ "wheel" ];
          commands = all (if nopass then [ "NOPASSWD" ] else [ ]);
        }
      ];

  escalation =
    d:
    builtins.filter (t: t.enable) (
      map
        (
          name:
          let
            cfg = get [ "security" name ] { } d;
          in
          {
            inherit name;
            enable = cfg.enable or false;
            wheelNeedsPassword = cfg.wheelNeedsPassword or true;
            extraRules = if (cfg.extraRules or null) != null then cfg.extraRules else builtinRules name cfg;
            emptyPasswordWorks = name == "doas";
          }
        )
        [
          "sudo"
          "sudo-rs"
          "doas"
        ]
    );

  # Does `rule` of tool `t` name this user, by name or uid, or one of its
  # groups, by name or gid? (In sudoers the user "ALL" is everyone.)
  ruleNames =
    d: t: attr: u: rule:
    let
      name = userName attr u;
      everyone = if t.name == "doas" then [ ] else [ "ALL" ];
      groups = groupsOf d attr u;
      gids = map (g: get [ "users" "groups" g "gid" ] null d) groups;
      matches = names: ids: x: if builtins.isInt x then builtins.elem x ids else builtins.elem x names;
    in
    builtins.any (matches ([ name ] ++ everyone) [ (u.uid or null) ]) (rule.users or [ ])
    || builtins.any (matches groups (builtins.filter (x: x != null) gids)) (rule.groups or [ ]);

  # A sudoers rule's verdict on "every command as root": null when it does not
  # grant that, else { nopass; }. runAs is `user[:group]`; host "ALL" or the host name.
  sudoGrant =
    d: rule:
    let
      runAsUsers = map l.trim (l.splitOn "," (builtins.head (l.splitOn ":" (rule.runAs or "ALL:ALL"))));
      host = rule.host or "ALL";
      # Walk the commands, carrying the PASSWD/NOPASSWD tag from one to the next.
      step =
        acc: c:
        let
          opts = if builtins.isString c then [ ] else c.options or [ ];
          command = if builtins.isString c then c else c.command;
          tag =
            if builtins.elem "NOPASSWD" opts then
              true
            else if builtins.elem "PASSWD" opts then
              false
            else
              acc.tag;
        in
        {
          inherit tag;
          all = if command == "ALL" then { nopass = tag; } else acc.all;
        };
      walked = builtins.foldl' step {
        tag = false;
        all = null;
      } (rule.commands or [ ]);
    in
    if
      (host == "ALL" || host == get [ "networking" "hostName" ] null d)
      && builtins.any (x: builtins.elem x [ "ALL" "root" "#0" ]) runAsUsers
    then
      walked.all
    else
      null;

  doasGrant =
    rule:
    if (rule.cmd or null) == null && builtins.elem (rule.runAs or null) [ null "root" ] then
      { nopass = rule.noPass or false; }
    else
      null;

  # How tool `t` lets the user run every command as root:
  # { rule = index into t.extraRules, or null when no rule does; nopass; }.
  escalationRule =
    d: t: attr: u:
    let
      grant = r: if t.name == "doas" then doasGrant r else sudoGrant d r;
      indexed = l.imap (i: r: {
        inherit i;
        g = grant r;
      }) t.extraRules;
      deciding = builtins.filter (x: x.g != null && ruleNames d t attr u (builtins.elemAt t.extraRules x.i)) indexed;
    in
    if deciding == [ ] then
      {
        rule = null;
        nopass = false;
      }
    else
      {
        rule = (l.last deciding).i;
        inherit ((l.last deciding).g) nopass;
      };

  # "users = dev, groups = wheel", for messages.
  showRule =
    rule:
    builtins.concatStringsSep ", " (
      builtins.concatMap (
        k: if (rule.${k} or [ ]) == [ ] then [ ] else [ "${k} = ${builtins.concatStringsSep " " (map toString rule.${k})}" ]
      ) [ "users" "groups" ]
    );

  canEscalate =
    d: attr: u: t:
    let
      p = (password d u).state;
      e = escalationRule d t attr u;
    in
    e.rule != null && (e.nopass || p == "set" || (t.emptyPasswordWorks && p == "empty"));

  # ---- Whom sshd lets in -----------------------------------------------------
  # sshd.nix writes settings.{DenyUsers,AllowUsers,DenyGroups,AllowGroups}
  # (nullOr (listOf str); null leaves the line out) space-separated into
  # sshd_config. OpenSSH auth.c allowed_user() (openssh-portable, stored copy
  # id 19722052568; groupaccess.c 0a89d6e5) checks them in that order:
  # a user matching a DenyUsers pattern is refused; with AllowUsers, a user
  # matching none of its patterns is refused; then the same with the user's
  # primary and supplementary groups against DenyGroups and AllowGroups.
  # Patterns are match_pattern()'s: `*` and `?`, case-sensitive. A USER@HOST
  # pattern also depends on the client's address, which is not known here: its
  # verdict is "depends on the host" and is said so.
  # An empty list is read as no restriction.
  # Not read: Match blocks and extraConfig.
  globMatches =
    pattern: x:
    builtins.match (
      builtins.replaceStrings
        [ "*" "?" "." "+" "(" ")" "[" "]" "{" "}" "|" "^" "$" "\\" ]
        [ ".*" "." "[.]" "[+]" "[(]" "[)]" "\\[" "\\]" "[{]" "[}]" "[|]" "\\^" "[$]" "\\\\" ]
        pattern
    ) x != null;

  # { refused = why sshd refuses the user, or null; hostDependent = which
  #   USER@HOST pattern decides, or null; }
  sshdAccess =
    d: attr: u:
    let
      settings = get [ "services" "openssh" "settings" ] { } d;
      list = k: if (settings.${k} or null) == null then [ ] else settings.${k};
      name = userName attr u;
      groups = groupsOf d attr u;
      userPart = p: builtins.head (l.splitOn "@" p);
      hasHost = p: builtins.length (l.splitOn "@" p) > 1;
      byUser = builtins.filter (p: globMatches (userPart p) name);
      byGroup = builtins.filter (p: builtins.any (globMatches p) groups);
      shown = k: "${k} = ${builtins.concatStringsSep " " (list k)}";
      denied = byUser (list "DenyUsers");
      allowed = byUser (list "AllowUsers");
      deniedG = byGroup (list "DenyGroups");
      allowedG = byGroup (list "AllowGroups");
      refused =
        if builtins.any (p: !(hasHost p)) denied then
          shown "DenyUsers"
        else if list "AllowUsers" != [ ] && allowed == [ ] then
          shown "AllowUsers"
        else if deniedG != [ ] then
          shown "DenyGroups"
        else if list "AllowGroups" != [ ] && allowedG == [ ] then
          shown "AllowGroups"
        else
          null;
      hostDependent =
        if denied != [ ] then
          shown "DenyUsers"
        else if list "AllowUsers" != [ ] && builtins.all hasHost allowed then
          shown "AllowUsers"
        else
          null;
    in
    {
      inherit refused;
      hostDependent = if refused == null then hostDependent else null;
    };

  # ---- Root by key -----------------------------------------------------------
  # PermitRootLogin: sshd.nix's default is "prohibit-password"; null leaves the
  # line out of sshd_config, and OpenSSH's own default applies: servconf.c
  # fill_default_server_options sets PERMIT_NO_PASSWD ("prohibit-password")
  # since OpenSSH 7.0 (the 24.11 tree has 9.9p1, unpatched there). The same
  # holds for PasswordAuthentication and KbdInteractiveAuthentication (default
  # yes in both). "forced-commands-only" admits root by key only when a forced
  # command applies (auth.c auth_root_allowed: PERMIT_FORCED_ONLY needs
  # forced_command): a `command="..."` option on the key (authorized_keys
  # options are case-insensitive, comma-separated before the key type), or a
  # ForceCommand setting.
  opensshDefaults = {
    PermitRootLogin = "prohibit-password";
    PasswordAuthentication = true;
    KbdInteractiveAuthentication = true;
    UsePAM = false;
  };
  # But sshd.nix gives PAM's sshd service unixAuth only when
  # PasswordAuthentication == true, and pam.nix ends every auth stack with
  # pam_deny: with UsePAM (sshd.nix's default true), PasswordAuthentication =
  # null lets no password through although sshd_config leaves it at yes.
  pamRefusesPasswords =
    d:
    let
      settings = get [ "services" "openssh" "settings" ] { } d;
      usePAM = settings.UsePAM or true;
    in
    settings ? PasswordAuthentication && settings.PasswordAuthentication == null && usePAM == true;
  forcedCommandKey =
    key:
    builtins.match ''[[:space:]]*([^[:space:]",]+(="([^"\\]|\\.)*")?,)*[Cc][Oo][Mm][Mm][Aa][Nn][Dd]="([^"\\]|\\.)*"([,[:space:]].*)?'' key
    != null;

  # ---- Where sshd listens ----------------------------------------------------
  # nixos/modules/services/networking/ssh/sshd.nix (stored copy id 84058930,
  # the same text in every stored version): one `Port` line per `ports` entry
  # and one `ListenAddress addr[:port]` line per `listenAddresses` entry.
  # sshd_config(5): with ListenAddress lines sshd listens only there; an entry
  # without a port listens on every Port. `openFirewall` opens `ports` only
  # (networking.firewall.allowedTCPPorts = optionals openFirewall ports).
  listening =
    ssh:
    let
      ports = ssh.ports or [ 22 ];
      addresses = ssh.listenAddresses or [ ];
    in
    if addresses == [ ] then
      map (port: {
        addr = "0.0.0.0";
        inherit port;
      }) ports
    else
      builtins.concatMap (
        a:
        if (a.port or null) == null then
          map (port: {
            inherit (a) addr;
            inherit port;
          }) ports
        else
          [ { inherit (a) addr port; } ]
      ) addresses;
  # sshd binds every IPv6 ListenAddress with IPV6_V6ONLY (sshd.c
  # listen_on_addrs): "[::]" takes no IPv4 connection. With startWhenNeeded
  # systemd listens instead (sshd.nix: socketConfig.ListenStream "[::]:22"), and
  # its sockets are dual-stack (systemd.socket(5) BindIPv6Only=default follows
  # net.ipv6.bindv6only, 0).
  v6Only = ssh: addr: !(ssh.startWhenNeeded or false) && addr != null && builtins.match ".*:.*" addr != null;
  loopback =
    addr:
    builtins.elem addr [
      "localhost"
      "::1"
      "[::1]"
    ]
    # sshd.nix: listenAddresses.*.addr is nullOr str; null is rejected there, not here.
    || (addr != null && l.hasPrefix "127." addr);

  # ---- Firewall --------------------------------------------------------------
  # nixos/modules/services/networking/firewall.nix (0192bb844360b5b42ebaf7f575f84d79910a5927):
  # allowedTCPPorts / allowedTCPPortRanges globally and under interfaces.<name>;
  # trustedInterfaces accept all traffic on those interfaces. An opening on a named
  # interface lets the port in on that interface only.
  # With the firewall on, firewall.nix always adds "lo" to trustedInterfaces
  # (nixos-24.11 tree); loopback is never how the VM is reached, so it opens nothing here.
  # { global = opened for every interface; interfaces = the names it is opened on otherwise. }
  firewallOpenings =
    fw: port:
    let
      inRange = r: (r.from or 65536) <= port && port <= (r.to or (-1));
      opens =
        x: builtins.elem port (x.allowedTCPPorts or [ ]) || builtins.any inRange (x.allowedTCPPortRanges or [ ]);
      named = builtins.filter (name: opens fw.interfaces.${name}) (builtins.attrNames (fw.interfaces or { }));
    in
    {
      global = opens fw;
      interfaces = builtins.filter (i: i != "lo") (l.unique (named ++ (fw.trustedInterfaces or [ ])));
    };

  # Interfaces that are never how a VM is reached from its network: loopback and the
  # bridges and veth pairs of container runtimes (docker0, br-<id> and veth* are
  # Docker's, virbr* libvirt's, podman*/cni* Podman's and CNI's).
  localInterface =
    name:
    name == "lo"
    || builtins.any (prefix: l.hasPrefix prefix name) [
      "docker"
      "br-"
      "veth"
      "virbr"
      "podman"
      "cni"
    ];

  # ---- Boot loaders and platforms -------------------------------------------
  # GRUB's BIOS (i386-pc) target exists for i686/x86_64 only, its EFI target
  # for these (pkgs/tools/misc/grub/default.nix, stored copy id 57434160751:
  # pcSystems and efiSystemsBuild). systemd-boot needs EFI as well.
  biosPlatforms = [
    "i686-linux"
    "x86_64-linux"
  ];
  efiPlatforms = [
    "i686-linux"
    "x86_64-linux"
    "armv7l-linux"
    "aarch64-linux"
    "loongarch64-linux"
    "riscv32-linux"
    "riscv64-linux"
  ];
  # install-grub.pl (01ab1d57a3e02d388a8e1903031b273b47c6bb94): `next if $dev
  # eq "nodev"`, so "nodev" installs nothing to a disk; only efiSupport then
  # installs GRUB (to the EFI system partition).
  # Every loader module sets system.boot.loader.id (top-level.nix,
  # 01502f439c6a734621f212e450e7a6a9f35a0c5f): "grub", "systemd-boot",
  # "generic-extlinux-compatible", "limine" (limine.nix, 416819a31ea7d634847ff44c0e66e33e28ea4adb), ...
  #
  # The enabled boot loaders. system.boot.loader.id has no type (top-level.nix),
  # so two enabled loaders merge their ids by concatenation (lib/options.nix
  # mergeDefaultOption: concatStrings), e.g. "grubsystemd-boot"; and
  # system.build.installBootLoader, which every loader sets, is
  # `types.unique { message = "Only one bootloader can be enabled at a time. ..." }`
  # (activation-script.nix), so toplevel throws (24.11 tree, checked by a real evaluation).
  # The ids of the loader modules of the 24.11 tree, plus limine (25.05), and
  # the name of each one's boot.loader.<name>.enable option:
  loaderNames = {
    grub = "grub";
    systemd-boot = "systemd-boot";
    generic-extlinux-compatible = "generic-extlinux-compatible";
    generationsDir = "generationsDir";
    raspberrypi = "raspberryPi";
    limine = "limine";
  };
  loaderOption = id: if loaderNames ? ${id} then "boot.loader.${loaderNames.${id}}.enable" else "system.boot.loader.id";
  # A joined id split back into known ids (null when it is not made of them).
  splitLoaderId =
    id:
    if id == "" then
      [ ]
    else
      let
        splits = builtins.concatMap (
          k:
          let
            rest = splitLoaderId (builtins.substring (builtins.stringLength k) (-1) id);
          in
          if l.hasPrefix k id && rest != null then [ ([ k ] ++ rest) ] else [ ]
        ) (builtins.attrNames loaderNames);
      in
      if splits == [ ] then null else builtins.head splits;
  enabledLoaders =
    d:
    let
      loader = get [ "boot" "loader" ] { } d;
      id = get [ "system" "boot" "loader" "id" ] "" d;
      parts = splitLoaderId id;
      flagged = builtins.filter (id: loader.${loaderNames.${id}}.enable or false) (builtins.attrNames loaderNames);
    in
    l.unique (flagged ++ (if parts == null then [ id ] else parts));

  # Why this configuration does not boot on `platform` ({ option; message; fix; }),
  # or null when it does.
  bootProblem =
    d: platform:
    let
      loader = get [ "boot" "loader" ] { } d;
      grub = loader.grub or { };
      devices = grub.devices or [ ];
      disks = builtins.filter (x: x != "nodev") devices;
      bios = builtins.elem platform biosPlatforms;
      efi = builtins.elem platform efiPlatforms;
      grubBoots = (disks != [ ] && bios) || ((grub.efiSupport or false) && efi);
      systemdBoot = loader.systemd-boot.enable or false;
      extlinux = loader.generic-extlinux-compatible.enable or false;
      id = get [ "system" "boot" "loader" "id" ] "" d;
      otherLoader =
        !(builtins.elem id [
          ""
          "grub"
          "systemd-boot"
        ]);
    in
    if ((grub.enable or false) && grubBoots) || (systemdBoot && efi) || extlinux || otherLoader then
      null
    else if grub.enable or false then
      (
        if devices == [ ] then
          {
            option = "boot.loader.grub.devices";
            message = "GRUB has no device to install to (boot.loader.grub.device, devices and mirroredBoots are empty)";
            fix = "set boot.loader.grub.device = \"/dev/vda\"; (BIOS, x86) or boot.loader.grub.efiSupport = true; with device = \"nodev\" (EFI)";
          }
        else if disks != [ ] && !bios then
          {
            option = "boot.loader.grub.device";
            message = "BIOS GRUB (device ${builtins.head disks}) does not exist on ${platform}, and boot.loader.grub.efiSupport is off";
            fix = "use an EFI boot loader on ${platform}: boot.loader.systemd-boot.enable = true; (EFI system partition on /boot) or boot.loader.grub.efiSupport = true;";
          }
        else
          {
            option = "boot.loader.grub.efiSupport";
            message = "GRUB installs nothing: its only device is \"nodev\" and boot.loader.grub.efiSupport is off";
            fix = "set boot.loader.grub.efiSupport = true; (EFI), or boot.loader.grub.device to a disk (BIOS, x86)";
          }
      )
    else if systemdBoot then
      {
        option = "boot.loader.systemd-boot.enable";
        message = "systemd-boot needs EFI, which ${platform} does not have";
        fix = "use a boot loader that ${platform} has (e.g. boot.loader.generic-extlinux-compatible.enable = true;)";
      }
    else
      {
        option = "boot.loader.grub.enable";
        message = "GRUB is disabled and no other boot loader is enabled";
        fix = "set boot.loader.grub.enable = true; (or enable another boot loader, e.g. boot.loader.systemd-boot.enable = true; on EFI)";
      };
}
