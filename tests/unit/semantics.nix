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

  # { state = "none" | "locked" | "empty" | "set"; via = option name or null; }
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
  # Each tool, when enabled, adds a rule for group wheel, requiring a password
  # unless wheelNeedsPassword = false (default true):
  #   sudo     nixos/modules/security/sudo.nix (02627d7620b37fa0d0d51f9103b4737a3728ca7f):
  #            extraRules mkOrder 600 { groups = [ "wheel" ]; NOPASSWD unless wheelNeedsPassword }
  #   sudo-rs  nixos/modules/security/sudo-rs.nix (0a37316d6cfea44280f4470b6867a711a24606bd): the same
  #   doas     nixos/modules/security/doas.nix (01239b864f8472863b56a1fc26876324d9cd7c90):
  #            extraRules mkOrder 600 { groups = [ "wheel" ]; noPass = !wheelNeedsPassword; },
  #            and its PAM service sets allowNullPassword = true.
  # An empty hashed password never works for sudo (users-groups.nix, above);
  # doas' PAM service accepts it.
  escalation =
    d:
    builtins.filter (t: t.enable) (
      map
        (name: {
          inherit name;
          enable = get [ "security" name "enable" ] false d;
          wheelNeedsPassword = get [ "security" name "wheelNeedsPassword" ] true d;
          emptyPasswordWorks = name == "doas";
        })
        [
          "sudo"
          "sudo-rs"
          "doas"
        ]
    );
  canEscalate =
    d: u: t:
    let
      p = (password d u).state;
    in
    !t.wheelNeedsPassword || p == "set" || (t.emptyPasswordWorks && p == "empty");

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
      interfaces = l.unique (named ++ (fw.trustedInterfaces or [ ]));
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
