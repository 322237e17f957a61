"""The quick-tier rules (tests/unit/rules.nix), evaluated by the real nix on fixtures.

Every rule has a fixture that breaks exactly that rule; each must report that
rule's finding and nothing else, with the exact message a user sees.
"""

from __future__ import annotations

import pytest
from nixeval import REPO, UNIT, checked, eval_json
from rulesdata import FIXTURES, RULES, analyse, ids, with_passing

# rule id -> (severity, exact message) for the fixture breaks.<id>
EXPECTED: dict[str, tuple[str, str]] = {
    "docker-enabled": ("error", "Docker service not properly configured"),
    "docker-group": ("error", "Test user dev is not in the docker group"),
    "openssh-enabled": ("error", "OpenSSH service is not enabled"),
    "openssh-package": ("error", "Missing required package: openssh"),
    "sshd-root-login": ("error", "sshd permits root login (PermitRootLogin = yes)"),
    "sshd-password-auth": (
        "error",
        "sshd allows password authentication (PasswordAuthentication = true)",
    ),
    "sshd-kbd-interactive": (
        "warning",
        "sshd allows keyboard-interactive authentication (KbdInteractiveAuthentication = true)",
    ),
    "login-user": ("error", "No normal user can log in: dev has the login shell nologin"),
    "sudo-enabled": (
        "error",
        "wheel cannot become root: security.sudo, security.sudo-rs and security.doas are all disabled",
    ),
    "sudo-password": (
        "error",
        "Test user dev cannot use sudo: security.sudo.wheelNeedsPassword = true and dev has no password",
    ),
    "wheel-group": ("error", "Test user dev is not in the wheel group"),
    "ssh-port": ("error", "Port 22 is not open in the firewall"),
    "firewall-enabled": ("warning", "The firewall is disabled"),
    "boot-loader": ("error", "GRUB is disabled and no other boot loader is enabled"),
    "root-filesystem": ("error", "No root file system is defined"),
    "platform": ("error", "Target platform is i686-linux, expected x86_64-linux"),
    "state-version": ("error", "system.stateVersion is not set"),
    "nixos-assertions": (
        "error",
        "NixOS assertion failed: The option `fixture.example' is broken.",
    ),
    "nixos-warnings": ("warning", "NixOS warning: The option `fixture.old' is deprecated."),
    "system-instantiates": ("error", "The system derivation does not instantiate"),
}


def test_every_rule_has_a_breaking_fixture_and_an_expected_message() -> None:
    rule_ids = eval_json(f"(import {RULES}).ruleIds")
    fixture_ids = eval_json(f"builtins.attrNames (import {FIXTURES}).breaks")
    assert sorted(rule_ids) == sorted(fixture_ids)
    assert sorted(rule_ids) == sorted(EXPECTED)
    assert len(set(rule_ids)) == len(rule_ids), "rule ids must be unique"


def test_passing_fixture_has_no_findings() -> None:
    assert analyse("f.passing") == []


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_breaking_one_rule_reports_exactly_that_finding(rule: str) -> None:
    findings = analyse(f'f.breaks."{rule}"')
    severity, message = EXPECTED[rule]
    assert [(f["id"], f["severity"], f["message"]) for f in findings] == [(rule, severity, message)]
    (finding,) = findings
    assert set(finding) == {"id", "severity", "option", "message", "fix"}
    assert finding["option"] and finding["fix"], "every finding names the option and the fix"


def test_docker_finding_names_option_and_fix() -> None:
    (finding,) = analyse('f.breaks."docker-enabled"')
    assert finding["option"] == "virtualisation.docker.enable"
    assert finding["fix"] == "set virtualisation.docker.enable = true;"


def test_multi_fault_fixture_lists_every_fault_in_rule_order() -> None:
    findings = analyse("f.multiFault")
    assert [(f["id"], f["message"]) for f in findings] == [
        ("docker-enabled", "Docker service not properly configured"),
        ("openssh-package", "Missing required package: openssh"),
        ("sshd-root-login", "sshd permits root login (PermitRootLogin = yes)"),
        ("state-version", "system.stateVersion is not set"),
        ("nixos-warnings", "NixOS warning: The option `fixture.old' is deprecated."),
    ]


def test_password_authentication_allowed_on_purpose_is_not_reported() -> None:
    findings = with_passing(
        "{ vmtest.allowPasswordAuthentication = true;"
        "  services.openssh.settings = { PasswordAuthentication = true;"
        "    KbdInteractiveAuthentication = true; }; }"
    )
    assert findings == []


def test_unset_sshd_settings_are_judged_by_sshds_defaults() -> None:
    # PermitRootLogin defaults to "prohibit-password": root has no keys here,
    # so it allows nothing; password and keyboard-interactive logins default on.
    findings = analyse(
        'f.passing // { services.openssh = builtins.removeAttrs f.passing.services.openssh [ "settings" ]; }'
    )
    assert ids(findings) == ["sshd-password-auth", "sshd-kbd-interactive"]


@pytest.mark.parametrize(
    ("permit", "root_keys", "message"),
    [
        ("prohibit-password", False, None),
        ("without-password", False, None),
        (
            "prohibit-password",
            True,
            (
                "sshd lets root log in with an SSH key "
                "(PermitRootLogin = prohibit-password, and users.users.root has authorized keys)"
            ),
        ),
        # root's key forces no command, so root cannot log in (test_analysis_semantics.py)
        ("forced-commands-only", True, None),
        ("yes", False, "sshd permits root login (PermitRootLogin = yes)"),
        ("no", True, None),
    ],
)
def test_root_login_is_graded_by_what_it_allows(
    permit: str, root_keys: bool, message: str | None
) -> None:
    keys = '[ "ssh-ed25519 AAAA root@fixture" ]' if root_keys else "[ ]"
    findings = with_passing(
        f'{{ services.openssh.settings.PermitRootLogin = "{permit}";'
        f"  users.users.root.openssh.authorizedKeys.keys = {keys}; }}"
    )
    assert [f["message"] for f in findings] == ([message] if message else [])


def test_sshd_hardening_rules_are_silent_when_sshd_is_off() -> None:
    findings = with_passing(
        '{ services.openssh = { enable = false; settings.PermitRootLogin = "yes"; }; }'
    )
    assert ids(findings) == ["openssh-enabled"]


@pytest.mark.parametrize(
    ("user", "can_log_in"),
    [
        ('{ hashedPassword = "$6$salt$hash"; initialPassword = null; keys = [ ]; }', True),
        ('{ hashedPassword = "!"; initialPassword = null; keys = [ ]; }', False),
        # users-groups.nix: hashedPassword overrides initialPassword (mutableUsers)
        ('{ hashedPassword = "!"; initialPassword = "dev"; keys = [ ]; }', False),
        ('{ hashedPassword = "!$6$salt$hash"; initialPassword = null; keys = [ ]; }', False),
        # ... but not when users are immutable: initialPassword comes later then
        ('{ hashedPassword = "!"; initialPassword = "dev"; keys = [ ]; mutable = false; }', True),
        # "" logs in at the console without a password
        ('{ hashedPassword = ""; initialPassword = null; keys = [ ]; }', True),
        ('{ initialPassword = "dev"; keys = [ ]; }', True),
        ('{ initialPassword = null; hashedPasswordFile = "/run/secrets/dev"; keys = [ ]; }', True),
        ("{ initialPassword = null; }", True),
        ('{ shell = "nologin"; }', False),
        ("{ enable = false; }", False),
        ("{ isNormalUser = false; }", False),
    ],
)
def test_login_user_follows_nixos_password_precedence(user: str, can_log_in: bool) -> None:
    findings = analyse(
        "let u = " + user + "; in f.update f.passing {"
        "  users.mutableUsers = u.mutable or true;"
        '  users.users.dev = builtins.removeAttrs u [ "keys" "mutable" ]'
        "    // (if u ? keys then { openssh.authorizedKeys.keys = u.keys; } else { }); }"
    )
    assert ("login-user" not in ids(findings)) is can_log_in


def test_login_finding_names_each_user_and_why() -> None:
    (finding,) = [
        f
        for f in with_passing(
            '{ users.users.dev = { hashedPassword = "!"; openssh.authorizedKeys.keys = [ ]; };'
            '  users.users.alice = { isNormalUser = true; shell = "nologin"; }; }'
        )
        if f["id"] == "login-user"
    ]
    assert finding["message"] == (
        "No normal user can log in: "
        "alice has the login shell nologin; "
        'dev has no SSH key and a locked password (hashedPassword starts with "!" or "*")'
    )


def test_ssh_keys_do_not_log_in_without_sshd() -> None:
    findings = with_passing(
        "{ services.openssh.enable = false; users.users.dev.initialPassword = null; }"
    )
    assert "No normal user can log in: dev has SSH keys but sshd is off and no password" in [
        f["message"] for f in findings
    ]


@pytest.mark.parametrize(
    "escalation",
    [
        "{ sudo.enable = false; doas.enable = true; }",
        "{ sudo.enable = false; sudo-rs.enable = true; }",
    ],
)
def test_doas_and_sudo_rs_give_wheel_root(escalation: str) -> None:
    assert with_passing(f"{{ security = {escalation}; }}") == []


@pytest.mark.parametrize(
    ("security", "password", "message"),
    [
        ("{ sudo.wheelNeedsPassword = false; }", "null", None),
        ("{ }", '"dev"', None),
        (
            "{ sudo.enable = false; doas.enable = true; }",
            "null",
            (
                "Test user dev cannot use doas: security.doas.wheelNeedsPassword = true "
                "and dev has no password"
            ),
        ),
        (
            "{ sudo.enable = false; sudo-rs = { enable = true; wheelNeedsPassword = false; }; }",
            "null",
            None,
        ),
    ],
)
def test_a_key_only_user_needs_wheel_without_password(
    security: str, password: str, message: str | None
) -> None:
    findings = with_passing(
        f"{{ security = {security}; users.users.dev.initialPassword = {password}; }}"
    )
    assert [f["message"] for f in findings if f["id"] == "sudo-password"] == (
        [message] if message else []
    )


def test_an_empty_hashed_password_works_for_doas_but_not_for_sudo() -> None:
    user = '{ users.users.dev = { initialPassword = null; hashedPassword = ""; }; }'
    assert ids(with_passing(user)) == ["sudo-password"]
    doas = '{ security = { sudo.enable = false; doas.enable = true; }; users.users.dev = { initialPassword = null; hashedPassword = ""; }; }'
    assert with_passing(doas) == []


@pytest.mark.parametrize(
    ("dev", "docker_members", "in_docker"),
    [
        ('{ extraGroups = [ "wheel" "docker" ]; }', "[ ]", True),
        ('{ extraGroups = [ "wheel" ]; group = "docker"; }', "[ ]", True),
        ('{ extraGroups = [ "wheel" ]; }', '[ "dev" ]', True),
        ('{ extraGroups = [ "wheel" ]; }', '[ "alice" ]', False),
        ('{ extraGroups = [ "wheel" ]; name = "developer"; }', '[ "developer" ]', True),
    ],
)
def test_group_membership_has_three_spellings(
    dev: str, docker_members: str, in_docker: bool
) -> None:
    # users-groups.nix: extraGroups, the primary group, users.groups.<g>.members.
    findings = analyse(
        "let p = f.passing; in p // { users = p.users // {"
        f"  users = p.users.users // {{ dev = p.users.users.dev // {dev}; }};"
        f"  groups.docker.members = {docker_members}; }}; }}"
    )
    assert ("docker-group" not in ids(findings)) is in_docker


def test_group_rules_fall_back_to_any_normal_user_without_a_test_user() -> None:
    base = 'builtins.removeAttrs f.passing [ "vmtest" ]'
    assert analyse(base) == []
    findings = analyse(f'f.update ({base}) {{ users.users.dev.extraGroups = [ "wheel" ]; }}')
    assert [f["message"] for f in findings] == ["No normal user is in the docker group"]


def test_a_missing_or_disabled_test_user_is_named_as_the_cause() -> None:
    findings = with_passing('{ vmtest.testUser.name = "alice"; }')
    assert [(f["id"], f["message"], f["option"]) for f in findings] == [
        ("docker-group", "Test user alice is not defined in users.users", "vmtest.testUser.name"),
        ("wheel-group", "Test user alice is not defined in users.users", "vmtest.testUser.name"),
    ]
    disabled = with_passing("{ users.users.dev.enable = false; }")
    assert "Test user dev is disabled (users.users.dev.enable = false)" in [
        f["message"] for f in disabled
    ]


DOCKER0_ONLY = (
    "Port 22 is open in the firewall only on docker0"
    " (loopback or container interfaces, not the VM's network)"
)


@pytest.mark.parametrize(
    ("openssh", "firewall", "message"),
    [
        ("{ ports = [ 2222 ]; }", "{ }", "sshd does not listen on port 22 (ports = 2222)"),
        # listenAddresses with a port override `ports`
        (
            '{ listenAddresses = [ { addr = "0.0.0.0"; port = 2222; } ]; }',
            "{ }",
            "sshd does not listen on port 22 (listenAddresses = 0.0.0.0:2222)",
        ),
        # ... without one they listen on every port of `ports`
        ('{ listenAddresses = [ { addr = "10.0.2.15"; port = null; } ]; }', "{ }", None),
        # an entry without addr (sshd.nix: nullOr str) is no crash of the rules
        ("{ listenAddresses = [ { addr = null; port = 22; } ]; }", "{ }", None),
        (
            '{ listenAddresses = [ { addr = "127.0.0.1"; port = 22; } ]; }',
            "{ }",
            "sshd listens on port 22 only on loopback (listenAddresses = 127.0.0.1:22)",
        ),
        ("{ }", "{ allowedTCPPorts = [ ]; }", "Port 22 is not open in the firewall"),
        # only on a named interface: a warning (it may be the VM's), never an error ...
        (
            "{ }",
            "{ allowedTCPPorts = [ ]; interfaces.eth0.allowedTCPPorts = [ 22 ]; }",
            "warning: Port 22 is open in the firewall only on eth0, not on every interface",
        ),
        (
            "{ }",
            '{ allowedTCPPorts = [ ]; trustedInterfaces = [ "eth0" ]; }',
            "warning: Port 22 is open in the firewall only on eth0, not on every interface",
        ),
        # ... unless every such interface is loopback or a container bridge
        (
            "{ }",
            '{ allowedTCPPorts = [ ]; trustedInterfaces = [ "docker0" ]; }',
            DOCKER0_ONLY,
        ),
        (
            "{ }",
            "{ allowedTCPPorts = [ ]; interfaces.docker0.allowedTCPPorts = [ 22 ]; }",
            DOCKER0_ONLY,
        ),
        (
            "{ }",
            '{ allowedTCPPorts = [ 22 ]; trustedInterfaces = [ "docker0" ]; }',
            None,
        ),
        (
            "{ }",
            "{ allowedTCPPorts = [ ]; allowedTCPPortRanges = [ { from = 20; to = 23; } ]; }",
            None,
        ),
        ("{ }", "{ enable = false; allowedTCPPorts = [ ]; }", None),
    ],
)
def test_ssh_port_follows_where_sshd_listens_and_the_firewall(
    openssh: str, firewall: str, message: str | None
) -> None:
    findings = with_passing(
        f"{{ services.openssh = {openssh}; networking.firewall = {firewall}; }}"
    )
    shown = [
        f["message"] if f["severity"] == "error" else f"{f['severity']}: {f['message']}"
        for f in findings
        if f["id"] == "ssh-port"
    ]
    assert shown == ([message] if message else [])


@pytest.mark.parametrize(
    ("platform", "loader", "message"),
    [
        ("x86_64-linux", '{ grub.devices = [ "/dev/vda" ]; }', None),
        (
            "aarch64-linux",
            '{ grub.devices = [ "/dev/vda" ]; }',
            (
                "BIOS GRUB (device /dev/vda) does not exist on aarch64-linux, "
                "and boot.loader.grub.efiSupport is off"
            ),
        ),
        (
            "x86_64-linux",
            '{ grub.devices = [ "nodev" ]; }',
            'GRUB installs nothing: its only device is "nodev" and boot.loader.grub.efiSupport is off',
        ),
        ("aarch64-linux", '{ grub = { devices = [ "nodev" ]; efiSupport = true; }; }', None),
        ("aarch64-linux", "{ grub.enable = false; systemd-boot.enable = true; }", None),
        (
            "x86_64-linux",
            "{ grub.devices = [ ]; }",
            (
                "GRUB has no device to install to "
                "(boot.loader.grub.device, devices and mirroredBoots are empty)"
            ),
        ),
        (
            "x86_64-linux",
            "{ grub.enable = false; }",
            "GRUB is disabled and no other boot loader is enabled",
        ),
    ],
)
def test_boot_loader_must_be_installed_and_exist_for_the_platform(
    platform: str, loader: str, message: str | None
) -> None:
    findings = with_passing(
        f'{{ nixpkgs.hostPlatform = "{platform}"; _analysis.expectedPlatform = "{platform}";'
        f"  boot.loader = {loader}; }}"
    )
    assert [f["message"] for f in findings] == ([message] if message else [])


def test_disabled_grub_fix_names_the_enable_option() -> None:
    (finding,) = analyse('f.breaks."boot-loader"')
    assert finding["option"] == "boot.loader.grub.enable"
    assert finding["fix"].startswith("set boot.loader.grub.enable = true;")


def test_vm_only_and_container_configs_need_no_boot_loader_or_root_fs() -> None:
    broken = 'builtins.removeAttrs (f.update f.passing { boot.loader.grub.devices = [ ]; }) [ "fileSystems" ]'
    assert ids(analyse(broken)) == ["boot-loader", "root-filesystem"]
    assert analyse(f"f.update ({broken}) {{ _analysis.vmOnly = true; }}") == []
    assert analyse(f"f.update ({broken}) {{ boot.isContainer = true; }}") == []
    efi = "{ boot.loader = { grub.enable = false; systemd-boot.enable = true; }; }"
    assert with_passing(efi) == []


def test_failed_assertions_are_not_reported_twice_as_an_instantiation_failure() -> None:
    findings = with_passing(
        "{ _analysis.instantiates = false;"
        '  assertions = [ { assertion = false; message = "broken"; } ]; }'
    )
    assert ids(findings) == ["nixos-assertions"]


def test_instantiation_error_message_is_shown_when_known() -> None:
    (finding,) = with_passing(
        '{ _analysis = { instantiates = false; instantiationError = "attribute missing"; }; }'
    )
    assert finding["message"] == "The system derivation does not instantiate: attribute missing"
    assert "nixosConfigurations.vm.config.system.build.toplevel.drvPath" in finding["fix"]


def test_every_failed_assertion_and_every_warning_is_a_finding() -> None:
    findings = with_passing(
        "{ assertions = ["
        '    { assertion = false; message = "first"; }'
        '    { assertion = true; message = "holds"; }'
        '    { assertion = false; message = "second"; } ];'
        '  warnings = [ "w1" "w2" ]; }'
    )
    assert [(f["severity"], f["message"]) for f in findings] == [
        ("error", "NixOS assertion failed: first"),
        ("error", "NixOS assertion failed: second"),
        ("warning", "NixOS warning: w1"),
        ("warning", "NixOS warning: w2"),
    ]


def test_readme_rule_table_is_the_generated_one() -> None:
    table = checked(["nix", "eval", "--raw", "-f", str(UNIT / "rule-table.nix")])
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = "<!-- rule-table: generated from tests/unit/rules.nix -->\n"
    end = "<!-- rule-table end -->"
    assert start in readme and end in readme
    assert readme.split(start, 1)[1].split(end, 1)[0] == table
    rows = table.splitlines()[2:]
    ids_in_table = [row.split("`")[1] for row in rows]
    assert ids_in_table == eval_json(f"(import {RULES}).ruleIds")
    severities = eval_json(f"map (r: r.severity) (import {RULES}).rules")
    for row, severity in zip(rows, severities, strict=True):
        assert f"| {severity} |" in row
