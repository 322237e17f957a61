"""NixOS and OpenSSH semantics the quick-tier rules follow (tests/unit/semantics.nix).

Who may become root (sudo, sudo-rs, doas rules), whom sshd admits, sshd's own
defaults, IPv6-only listening, the firewall's loopback, crypt hashes, two boot
loaders. Each case is data shaped as a real evaluation gives it (extract.nix).
"""

from __future__ import annotations

import pytest
from rulesdata import analyse, messages, with_passing

# security.sudo.extraRules as NixOS merges them: sudo.nix's own rules first
# (root at mkOrder 400, wheel at mkOrder 600), the configuration's after them.
ROOT_RULE = (
    '{ users = [ "root" ]; groups = [ ]; host = "ALL"; runAs = "ALL:ALL";'
    '  commands = [ { command = "ALL"; options = [ "SETENV" ]; } ]; }'
)
WHEEL_RULE = (
    '{ users = [ ]; groups = [ "wheel" ]; host = "ALL"; runAs = "ALL:ALL";'
    '  commands = [ { command = "ALL"; options = [ "SETENV" ]; } ]; }'
)


NOPASSWD_ALL = '[ { command = "ALL"; options = [ "NOPASSWD" ]; } ]'
DEV = '[ "dev" ]'


def sudo_rule(
    *,
    users: str = "[ ]",
    groups: str = "[ ]",
    host: str = '"ALL"',
    run_as: str = '"ALL:ALL"',
    commands: str = NOPASSWD_ALL,
) -> str:
    """One extraRules entry, with sudo.nix's defaults for the fields not given."""
    return (
        f"{{ users = {users}; groups = {groups}; host = {host}; runAs = {run_as};"
        f" commands = {commands}; }}"
    )


def nopasswd(program: str) -> str:
    """One command of a rule, NOPASSWD."""
    return f'{{ command = "/run/current-system/sw/bin/{program}"; options = [ "NOPASSWD" ]; }}'


def sudo_rules(*extra: str) -> str:
    """sudo.nix's own rules, then `extra`."""
    return f"[ {ROOT_RULE} {WHEEL_RULE} {' '.join(extra)} ]"


WHEEL_NOPASSWD = sudo_rule(groups='[ "wheel" ]')
DEV_NOPASSWD = sudo_rule(users=DEV)

# Key-only test user: no password at all.
KEY_ONLY = "users.users.dev.initialPassword = null;"
WHEEL_NEEDS_PASSWORD = (
    "Test user dev cannot use sudo: security.sudo.wheelNeedsPassword = true and dev has no password"
)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        # A NOPASSWD rule after the module's wheel rule is the last match: it wins.
        (sudo_rules(WHEEL_NOPASSWD), None),
        (sudo_rules(DEV_NOPASSWD), None),
        # by uid and gid (users.users.dev.uid = 1000, users.groups.wheel.gid = 1 below)
        (sudo_rules(sudo_rule(users="[ 1000 ]")), None),
        (sudo_rules(sudo_rule(users='[ "ALL" ]')), None),
        (sudo_rules(sudo_rule(groups="[ 1 ]")), None),
        # NOPASSWD on an earlier command of the same line carries over to ALL
        (sudo_rules(sudo_rule(users=DEV, commands=f'[ {nopasswd("true")} "ALL" ]')), None),
        # the host is the machine's (networking.hostName = "vmtest") or ALL
        (sudo_rules(sudo_rule(users=DEV, host='"vmtest"')), None),
        # mkBefore puts the rule before the wheel rule, which then wins
        (f"[ {ROOT_RULE} {WHEEL_NOPASSWD} {WHEEL_RULE} ]", WHEEL_NEEDS_PASSWORD),
        # rules that do not let dev run every command as root do not count
        (
            sudo_rules(sudo_rule(users=DEV, commands=f"[ {nopasswd('systemctl')} ]")),
            WHEEL_NEEDS_PASSWORD,
        ),
        (sudo_rules(sudo_rule(users=DEV, run_as='"alice"')), WHEEL_NEEDS_PASSWORD),
        (sudo_rules(sudo_rule(users=DEV, host='"other"')), WHEEL_NEEDS_PASSWORD),
        (sudo_rules(sudo_rule(users='[ "alice" ]')), WHEEL_NEEDS_PASSWORD),
        # a later rule for dev that asks for a password is the last match
        (
            sudo_rules(WHEEL_NOPASSWD, sudo_rule(users=DEV, commands='[ "ALL" ]')),
            (
                "Test user dev cannot use sudo: the last rule of security.sudo.extraRules for dev "
                "(users = dev) asks for a password and dev has no password"
            ),
        ),
        # extraRules forced to the configuration's own list: no rule for wheel at all
        (
            f"[ {ROOT_RULE} ]",
            (
                "Test user dev cannot use sudo: no rule in security.sudo.extraRules"
                " lets dev run every command as root"
            ),
        ),
    ],
)
def test_the_last_sudo_rule_for_the_user_decides_the_password(
    rules: str, message: str | None
) -> None:
    findings = with_passing(
        f"{{ {KEY_ONLY} users.users.dev.uid = 1000; users.groups.wheel.gid = 1;"
        f"  security.sudo.extraRules = {rules}; }}"
    )
    assert messages(findings, "sudo-password") == ([message] if message else [])


def test_sudo_default_options_with_nopasswd_free_the_wheel_rule() -> None:
    # sudo.nix appends defaultOptions to its own rules' options.
    findings = with_passing(
        f'{{ {KEY_ONLY} security.sudo.defaultOptions = [ "SETENV" "NOPASSWD" ]; }}'
    )
    assert findings == []


def test_sudo_rs_rules_decide_as_sudos_do() -> None:
    base = f"{{ {KEY_ONLY} security = {{ sudo.enable = false; sudo-rs = {{ enable = true; extraRules = "
    assert with_passing(f"{base}{sudo_rules(WHEEL_NOPASSWD)}; }}; }}; }}") == []
    assert messages(with_passing(f"{base}{sudo_rules()}; }}; }}; }}"), "sudo-password") == [
        "Test user dev cannot use sudo-rs: security.sudo-rs.wheelNeedsPassword = true and dev has no password"
    ]


DOAS_WHEEL = '{ groups = [ "wheel" ]; users = [ ]; noPass = false; runAs = null; cmd = null; }'


@pytest.mark.parametrize(
    ("rule", "can"),
    [
        ('{ users = [ "dev" ]; groups = [ ]; noPass = true; runAs = null; cmd = null; }', True),
        ('{ users = [ ]; groups = [ "wheel" ]; noPass = true; runAs = "root"; cmd = null; }', True),
        (
            '{ users = [ "dev" ]; groups = [ ]; noPass = true; runAs = null; cmd = "/bin/ls"; }',
            False,
        ),
        ('{ users = [ "dev" ]; groups = [ ]; noPass = true; runAs = "alice"; cmd = null; }', False),
    ],
)
def test_the_last_doas_rule_decides_the_password(rule: str, can: bool) -> None:
    findings = with_passing(
        f"{{ {KEY_ONLY} security = {{ sudo.enable = false;"
        f"  doas = {{ enable = true; extraRules = [ {DOAS_WHEEL} {rule} ]; }}; }}; }}"
    )
    assert messages(findings, "sudo-password") == (
        []
        if can
        else [
            "Test user dev cannot use doas: security.doas.wheelNeedsPassword = true and dev has no password"
        ]
    )


# Key-only dev who needs no sudo password: only sshd decides whether dev logs in.
SSH_KEY_ONLY = f"{KEY_ONLY} security.sudo.wheelNeedsPassword = false;"


def refused(setting: str) -> str:
    return f"No normal user can log in: dev has SSH keys but sshd refuses dev ({setting}) and no password"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('{ AllowUsers = [ "alice" ]; }', refused("AllowUsers = alice")),
        ('{ AllowUsers = [ "alice" "d?v" ]; }', None),
        ('{ AllowUsers = [ "de*" ]; }', None),
        # OpenSSH's match_pattern is case-sensitive
        ('{ AllowUsers = [ "DEV" ]; }', refused("AllowUsers = DEV")),
        ("{ AllowUsers = [ ]; }", None),
        ('{ DenyUsers = [ "*" ]; }', refused("DenyUsers = *")),
        # DenyUsers is checked before AllowUsers
        ('{ DenyUsers = [ "dev" ]; AllowUsers = [ "dev" ]; }', refused("DenyUsers = dev")),
        ('{ DenyGroups = [ "docker" ]; }', refused("DenyGroups = docker")),
        ('{ AllowGroups = [ "wheel" ]; }', None),
        # the primary group counts (isNormalUser: group = "users")
        ('{ AllowGroups = [ "users" ]; }', None),
        ('{ AllowGroups = [ "admins" ]; }', refused("AllowGroups = admins")),
        # USER@HOST depends on the client's address: said, never judged
        (
            '{ AllowUsers = [ "dev@10.0.2.2" ]; }',
            (
                "warning: sshd admits dev only from some client hosts (AllowUsers = dev@10.0.2.2);"
                " the address the VM is reached from is not known here"
            ),
        ),
        (
            '{ DenyUsers = [ "dev@10.0.2.2" ]; }',
            (
                "warning: sshd admits dev only from some client hosts (DenyUsers = dev@10.0.2.2);"
                " the address the VM is reached from is not known here"
            ),
        ),
    ],
)
def test_a_user_sshd_refuses_cannot_log_in_by_key(settings: str, message: str | None) -> None:
    findings = with_passing(f"{{ {SSH_KEY_ONLY} services.openssh.settings = {settings}; }}")
    assert messages(findings, "login-user") == ([message] if message else [])


def test_groups_members_count_for_allow_groups() -> None:
    findings = with_passing(
        f'{{ {SSH_KEY_ONLY} users.groups.admins.members = [ "dev" ];'
        '  services.openssh.settings.AllowGroups = [ "admins" ]; }'
    )
    assert findings == []


def test_a_user_sshd_refuses_still_logs_in_at_the_console_with_a_password() -> None:
    assert with_passing('{ services.openssh.settings.AllowUsers = [ "alice" ]; }') == []


ROOT_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureKeyOnlyForTests root@fixture"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # null leaves PermitRootLogin out of sshd_config: OpenSSH's default applies
        ("{ services.openssh.settings.PermitRootLogin = null; }", None),
        (
            (
                f"{{ services.openssh.settings.PermitRootLogin = null;"
                f'  users.users.root.openssh.authorizedKeys.keys = [ "{ROOT_KEY}" ]; }}'
            ),
            (
                "sshd lets root log in with an SSH key (PermitRootLogin = null, OpenSSH's default"
                " prohibit-password, and users.users.root has authorized keys)"
            ),
        ),
        # forced-commands-only: root only with a key that forces a command
        (
            (
                f'{{ services.openssh.settings.PermitRootLogin = "forced-commands-only";'
                f'  users.users.root.openssh.authorizedKeys.keys = [ "{ROOT_KEY}" ]; }}'
            ),
            None,
        ),
        (
            (
                f'{{ services.openssh.settings.PermitRootLogin = "forced-commands-only";'
                f"  users.users.root.openssh.authorizedKeys.keys ="
                f'    [ "no-pty,command=\\"/run/current-system/sw/bin/true\\" {ROOT_KEY}" ]; }}'
            ),
            (
                "sshd lets root run forced commands with an SSH key (PermitRootLogin = forced-commands-only,"
                " and a key in users.users.root.openssh.authorizedKeys.keys has a command= option)"
            ),
        ),
        (
            (
                f'{{ services.openssh.settings = {{ PermitRootLogin = "forced-commands-only";'
                f'    ForceCommand = "/run/current-system/sw/bin/true"; }};'
                f'  users.users.root.openssh.authorizedKeys.keys = [ "{ROOT_KEY}" ]; }}'
            ),
            (
                "sshd lets root run forced commands with an SSH key (PermitRootLogin = forced-commands-only,"
                " and ForceCommand = /run/current-system/sw/bin/true)"
            ),
        ),
        (
            (
                '{ services.openssh.settings.PermitRootLogin = "forced-commands-only";'
                '  users.users.root.openssh.authorizedKeys.keyFiles = [ "/etc/nixos/root.pub" ]; }'
            ),
            (
                "warning: sshd lets root in with a key that forces a command (PermitRootLogin ="
                " forced-commands-only); whether users.users.root.openssh.authorizedKeys.keyFiles"
                " hold such a key is not read here"
            ),
        ),
        # sshd refuses root before PermitRootLogin matters
        (
            '{ services.openssh.settings = { PermitRootLogin = "yes"; AllowUsers = [ "dev" ]; }; }',
            None,
        ),
    ],
)
def test_root_login_follows_openssh(change: str, message: str | None) -> None:
    assert messages(with_passing(change), "sshd-root-login") == ([message] if message else [])


@pytest.mark.parametrize(
    ("use_pam", "password_auth"),
    [
        # sshd.nix: PAM's unixAuth only with PasswordAuthentication == true
        ("true", []),
        (
            "false",
            [
                "sshd allows password authentication (PasswordAuthentication = null, OpenSSH's default yes)"
            ],
        ),
        # null UsePAM: left out, OpenSSH's default no
        (
            "null",
            [
                "sshd allows password authentication (PasswordAuthentication = null, OpenSSH's default yes)"
            ],
        ),
    ],
)
def test_null_password_settings_are_openssh_defaults(
    use_pam: str, password_auth: list[str]
) -> None:
    findings = with_passing(
        "{ services.openssh.settings = { PasswordAuthentication = null;"
        f"  KbdInteractiveAuthentication = null; UsePAM = {use_pam}; }}; }}"
    )
    assert messages(findings, "sshd-password-auth") == password_auth
    assert messages(findings, "sshd-kbd-interactive") == [
        (
            "warning: sshd allows keyboard-interactive authentication"
            " (KbdInteractiveAuthentication = null, OpenSSH's default yes)"
        )
    ]


V6_ONLY = (
    "sshd listens on port 22 only on IPv6 (listenAddresses = [::]): its IPv6 sockets take"
    " no IPv4 connection, and the VM is reached over IPv4"
)
LO_DOCKER0 = (
    "Port 22 is open in the firewall only on docker0"
    " (loopback or container interfaces, not the VM's network)"
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('{ services.openssh.listenAddresses = [ { addr = "[::]"; port = null; } ]; }', V6_ONLY),
        (
            (
                "{ services.openssh = { startWhenNeeded = true;"
                '    listenAddresses = [ { addr = "[::]"; port = null; } ]; }; }'
            ),
            None,
        ),
        (
            (
                '{ services.openssh.listenAddresses = [ { addr = "[::]"; port = null; }'
                '    { addr = "0.0.0.0"; port = null; } ]; }'
            ),
            None,
        ),
        # firewall.nix always trusts "lo": that opens nothing to the VM's network
        (
            '{ networking.firewall = { allowedTCPPorts = [ ]; trustedInterfaces = [ "lo" ]; }; }',
            "Port 22 is not open in the firewall",
        ),
        (
            '{ networking.firewall = { allowedTCPPorts = [ ]; trustedInterfaces = [ "lo" "docker0" ]; }; }',
            LO_DOCKER0,
        ),
        (
            '{ networking.firewall = { allowedTCPPorts = [ ]; trustedInterfaces = [ "lo" "eth0" ]; }; }',
            "warning: Port 22 is open in the firewall only on eth0, not on every interface",
        ),
    ],
)
def test_port_22_reachable_over_ipv4_and_not_through_loopback(
    change: str, message: str | None
) -> None:
    assert messages(with_passing(change), "ssh-port") == ([message] if message else [])


NOT_CRYPT = (
    "a hashedPassword that is not a crypt(3) hash NixOS accepts"
    " (NixOS warns that such a user may be locked out)"
)


@pytest.mark.parametrize(
    ("option", "value", "usable"),
    [
        ("hashedPassword", "hunter2", False),
        # MD5 crypt is not among libxcrypt's enabled schemes in nixpkgs
        ("hashedPassword", "$1$salt$hash", False),
        ("hashedPassword", "$6$salt$hash", True),
        ("hashedPassword", "$y$j9T$salt$hash", True),
        ("hashedPassword", "$2b$12$abcdefghijklmnopqrstuv", True),
        ("initialHashedPassword", "hunter2", False),
    ],
)
def test_a_hash_that_is_no_crypt_hash_is_no_password(option: str, value: str, usable: bool) -> None:
    findings = with_passing(
        f'{{ users.users.dev = {{ initialPassword = null; {option} = "{value}";'
        "  openssh.authorizedKeys.keys = [ ]; }; }"
    )
    expected = (
        []
        if usable
        else [
            f"No normal user can log in: dev has no SSH key and {NOT_CRYPT.replace('hashedPassword', option)}"
        ]
    )
    assert messages(findings, "login-user") == expected


def test_sudo_does_not_take_a_hash_that_is_no_crypt_hash() -> None:
    findings = with_passing(
        '{ users.users.dev = { initialPassword = null; hashedPassword = "hunter2"; }; }'
    )
    assert messages(findings, "sudo-password") == [
        "Test user dev cannot use sudo: security.sudo.wheelNeedsPassword = true and dev has "
        + NOT_CRYPT
    ]


TWO_LOADERS = (
    "grub and systemd-boot are both enabled; NixOS allows one boot loader"
    " (system.build.installBootLoader is unique), so the system does not instantiate"
)


@pytest.mark.parametrize("vm_only", [False, True])
def test_two_boot_loaders_are_named_not_a_bare_instantiation_failure(vm_only: bool) -> None:
    # As a real evaluation gives it: both enabled, their ids joined, toplevel throwing.
    findings = with_passing(
        "{ boot.loader = { grub.enable = true; systemd-boot.enable = true; };"
        '  system.boot.loader.id = "systemd-bootgrub";'
        f"  _analysis = {{ instantiates = false; vmOnly = {str(vm_only).lower()}; }}; }}"
    )
    assert [(f["id"], f["message"]) for f in findings] == [("boot-loader", TWO_LOADERS)]
    (finding,) = findings
    assert finding["option"] == "boot.loader.grub.enable, boot.loader.systemd-boot.enable"


def test_a_joined_loader_id_names_loaders_the_data_has_no_flag_for() -> None:
    findings = analyse(
        'f.update f.aarch64 { system.boot.loader.id = "systemd-bootgeneric-extlinux-compatible";'
        "  _analysis.instantiates = false; }"
    )
    assert messages(findings, "boot-loader") == [
        (
            "systemd-boot and generic-extlinux-compatible are both enabled; NixOS allows one boot loader"
            " (system.build.installBootLoader is unique), so the system does not instantiate"
        )
    ]
