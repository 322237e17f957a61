"""The quick-tier rules (tests/unit/rules.nix), evaluated by the real nix on fixtures.

Every rule has a fixture that breaks exactly that rule; each must report that
rule's finding and nothing else, with the exact message a user sees.
"""

from __future__ import annotations

from typing import Any

import pytest
from nixeval import UNIT, eval_json

RULES = UNIT / "rules.nix"
FIXTURES = UNIT / "fixtures"

# rule id -> (severity, exact message) for the fixture breaks.<id>
EXPECTED: dict[str, tuple[str, str]] = {
    "docker-enabled": ("error", "Docker service not properly configured"),
    "docker-group": ("error", "Test user dev is not in the docker group"),
    "openssh-enabled": ("error", "OpenSSH service is not enabled"),
    "openssh-package": ("error", "Missing required package: openssh"),
    "sshd-root-login": (
        "error",
        "sshd permits root login (PermitRootLogin = prohibit-password)",
    ),
    "sshd-password-auth": (
        "error",
        "sshd allows password authentication (PasswordAuthentication = true)",
    ),
    "sshd-kbd-interactive": (
        "warning",
        "sshd allows keyboard-interactive authentication (KbdInteractiveAuthentication = true)",
    ),
    "login-user": (
        "error",
        (
            "No normal user can log in "
            "(needs isNormalUser, a login shell, and an SSH key or an unlocked password)"
        ),
    ),
    "sudo-enabled": ("error", "sudo is not enabled, so wheel cannot become root"),
    "wheel-group": ("error", "Test user dev is not in the wheel group"),
    "ssh-port": ("error", "Port 22 is not open in the firewall"),
    "firewall-enabled": ("warning", "The firewall is disabled"),
    "boot-loader": (
        "error",
        "No boot loader is configured (GRUB has no device and systemd-boot is off)",
    ),
    "root-filesystem": ("error", "No root file system is defined"),
    "platform": ("error", "Target platform is aarch64-linux, expected x86_64-linux"),
    "state-version": ("error", "system.stateVersion is not set"),
    "nixos-assertions": (
        "error",
        "NixOS assertion failed: The option `fixture.example' is broken.",
    ),
    "nixos-warnings": ("warning", "NixOS warning: The option `fixture.old' is deprecated."),
    "system-instantiates": ("error", "The system derivation does not instantiate"),
}


def analyse(data_expr: str) -> list[dict[str, Any]]:
    """Findings for a fixture expression; `f` is tests/unit/fixtures."""
    findings: list[dict[str, Any]] = eval_json(
        f"let f = import {FIXTURES}; in (import {RULES}).analyse ({data_expr})"
    )
    return findings


def with_passing(change: str) -> list[dict[str, Any]]:
    """Findings for the passing fixture updated with the Nix attrset `change`."""
    return analyse(f"f.update f.passing ({change})")


def ids(findings: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in findings]


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


def test_unset_password_authentication_is_reported_as_sshds_default() -> None:
    findings = analyse(
        'f.passing // { services.openssh = builtins.removeAttrs f.passing.services.openssh [ "settings" ]; }'
    )
    assert ids(findings) == ["sshd-root-login", "sshd-password-auth", "sshd-kbd-interactive"]


def test_sshd_hardening_rules_are_silent_when_sshd_is_off() -> None:
    findings = with_passing(
        '{ services.openssh = { enable = false; settings.PermitRootLogin = "yes"; }; }'
    )
    assert ids(findings) == ["openssh-enabled"]


@pytest.mark.parametrize(
    ("user", "can_log_in"),
    [
        ('{ hashedPassword = "$6$salt$hash"; openssh.authorizedKeys.keys = [ ]; }', True),
        ('{ hashedPassword = "!"; openssh.authorizedKeys.keys = [ ]; }', False),
        ('{ initialPassword = "dev"; openssh.authorizedKeys.keys = [ ]; }', True),
        ('{ shell = "nologin"; }', False),
        ("{ enable = false; }", False),
        ("{ isNormalUser = false; }", False),
    ],
)
def test_login_user_needs_shell_and_a_usable_credential(user: str, can_log_in: bool) -> None:
    findings = with_passing(f"{{ users.users.dev = {user}; }}")
    assert ("login-user" not in ids(findings)) is can_log_in


def test_group_rules_fall_back_to_any_normal_user_without_a_test_user() -> None:
    base = 'builtins.removeAttrs f.passing [ "vmtest" ]'
    assert analyse(base) == []
    findings = analyse(f'f.update ({base}) {{ users.users.dev.extraGroups = [ "wheel" ]; }}')
    assert [f["message"] for f in findings] == ["No normal user is in the docker group"]


def test_missing_test_user_is_not_in_its_groups() -> None:
    findings = with_passing('{ vmtest.testUser.name = "alice"; }')
    assert [f["message"] for f in findings] == [
        "Test user alice is not in the docker group",
        "Test user alice is not in the wheel group",
    ]


def test_port_rule_follows_sshd_ports_and_firewall() -> None:
    no_firewall = "{ networking.firewall = { enable = false; allowedTCPPorts = [ ]; }; }"
    assert ids(with_passing(no_firewall)) == ["firewall-enabled"]
    (finding,) = with_passing("{ services.openssh.ports = [ 2222 ]; }")
    assert (finding["id"], finding["message"]) == ("ssh-port", "sshd does not listen on port 22")


def test_vm_only_and_container_configs_need_no_boot_loader_or_root_fs() -> None:
    broken = 'builtins.removeAttrs (f.update f.passing { boot.loader.grub.devices = [ ]; }) [ "fileSystems" ]'
    assert ids(analyse(broken)) == ["boot-loader", "root-filesystem"]
    assert analyse(f"f.update ({broken}) {{ _analysis.vmOnly = true; }}") == []
    assert analyse(f"f.update ({broken}) {{ boot.isContainer = true; }}") == []
    efi = "{ boot.loader = { grub.devices = [ ]; systemd-boot.enable = true; }; }"
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
