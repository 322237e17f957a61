"""machines/nixos/vm-shared.nix checked offline (no nixpkgs; see tests/unit/offline.nix).

How far this reaches: the module function is called with a stub lib/pkgs;
its definitions are checked against the NixOS options looked up in nixpkgs,
resolved over those options' nixpkgs defaults (plus the effects of nixpkgs
modules the rules read) and run through the real rules and the real
unit-vm-analysis derivation. NixOS assertions, warnings, option types and
instantiation need nixpkgs and are NOT evaluated here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from nixeval import REPO, UNIT, checked, eval_json, run

OFFLINE = UNIT / "offline.nix"
VM_SHARED = REPO / "machines" / "nixos" / "vm-shared.nix"


def offline(args: str = "{ }", attr: str = "") -> Any:
    return eval_json(f"(import {OFFLINE} {args}){attr}")


@pytest.mark.parametrize(
    "args", ["{ }", '{ name = "vm-aarch64"; hostPlatform = "aarch64-linux"; }']
)
def test_vm_shared_has_no_findings_offline(args: str) -> None:
    # Not the whole result: `nixos.config` holds assertions whose messages do
    # not evaluate unless they fail, as in NixOS.
    result = offline(args, " // { nixos = null; }")
    assert result["findings"] == []
    assert result["unknownOptions"] == []
    assert result["unknownImports"] == []
    assert result["notEvaluated"] == ["nixos-warnings", "system-instantiates"]


def test_each_platform_gets_a_boot_loader_that_boots_it() -> None:
    x86 = offline(attr=".data.boot.loader")
    assert x86["grub"]["enable"] is True
    assert x86["grub"]["devices"] == ["/dev/vda"]
    assert x86["systemd-boot"]["enable"] is False
    arm = offline('{ name = "vm-aarch64"; hostPlatform = "aarch64-linux"; }', ".data.boot.loader")
    assert arm["grub"]["enable"] is False
    assert arm["systemd-boot"]["enable"] is True
    esp = offline('{ hostPlatform = "aarch64-linux"; }', '.nixos.config.fileSystems."/boot"')
    assert esp == {"device": "/dev/disk/by-label/ESP", "fsType": "vfat", "mountPoint": "/boot"}


def test_bios_grub_on_aarch64_is_reported() -> None:
    # The vm-aarch64 configuration forced back to BIOS GRUB on /dev/vda.
    findings = offline(
        '{ hostPlatform = "aarch64-linux"; extraConfig = { boot.loader = {'
        '    grub = { enable = true; device = "/dev/vda"; }; systemd-boot.enable = false; }; }; }',
        ".findings",
    )
    assert [f["message"] for f in findings] == [
        (
            "BIOS GRUB (device /dev/vda) does not exist on aarch64-linux, "
            "and boot.loader.grub.efiSupport is off"
        )
    ]


def test_offline_evaluation_sees_the_vm_definitions() -> None:
    paths = offline(attr=".definedPaths")
    for option in [
        "services.openssh.enable",
        "services.openssh.settings.PermitRootLogin",
        "services.openssh.settings.PasswordAuthentication",
        "virtualisation.docker.enable",
        "users.users.dev.extraGroups",
        "users.users.dev.openssh.authorizedKeys.keys",
        "security.sudo.enable",
        "networking.firewall.enable",
        "nix.settings.experimental-features",
        "boot.loader.grub.device",
        "system.stateVersion",
    ]:
        assert option in paths
    data = offline(attr=".data")
    assert data["services"]["openssh"]["settings"] == {
        "PermitRootLogin": "no",
        "PasswordAuthentication": False,
        "KbdInteractiveAuthentication": False,
        "AllowUsers": None,
        "AllowGroups": None,
        "DenyUsers": None,
        "DenyGroups": None,
        "ForceCommand": None,
        "UsePAM": True,
    }
    assert data["users"]["users"]["dev"]["extraGroups"] == ["wheel", "docker"]
    assert data["networking"]["firewall"] == {
        "enable": True,
        "allowedTCPPorts": [22],
        "allowedTCPPortRanges": [],
        # firewall.nix adds "lo" whenever the firewall is on.
        "trustedInterfaces": ["lo"],
        "interfaces": {},
    }


def test_vm_shared_sets_no_nixpkgs_options() -> None:
    # runNixOSTest makes nixpkgs.* read-only inside test nodes.
    assert not [p for p in offline(attr=".definedPaths") if p.startswith("nixpkgs.")]
    assert not re.search(r"^\s*nixpkgs\.", VM_SHARED.read_text(encoding="utf-8"), re.MULTILINE)


def test_breaking_the_module_is_reported() -> None:
    findings = offline(
        "{ extraConfig = lib: { virtualisation.docker.enable = lib.mkForce false;"
        '    services.openssh.settings.PermitRootLogin = lib.mkForce "yes"; }; }',
        ".findings",
    )
    assert [f["message"] for f in findings] == [
        "Docker service not properly configured",
        "sshd permits root login (PermitRootLogin = yes)",
    ]


def test_a_misspelt_option_is_reported() -> None:
    unknown = offline(
        '{ extraConfig = { services.openssh.setings.PermitRootLogin = "no"; }; }',
        ".unknownOptions",
    )
    assert unknown == ["services.openssh.setings.PermitRootLogin"]


def offline_failure(args: str, attr: str = ".findings") -> str:
    """stderr of an offline evaluation that must fail."""
    proc = run(
        [
            "nix-instantiate",
            "--eval",
            "--strict",
            "--json",
            "--expr",
            f"(import {OFFLINE} {args}){attr}",
        ]
    )
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def test_an_unknown_option_in_the_module_fails_the_offline_check_itself(tmp_path: Path) -> None:
    module = tmp_path / "vm-shared.nix"
    module.write_text(
        VM_SHARED.read_text(encoding="utf-8").replace(
            "virtualisation.docker.enable = true;", "virtualisation.dockr.enable = true;"
        ),
        encoding="utf-8",
    )
    stderr = offline_failure(f"{{ module = {module}; }}")
    assert "The option `virtualisation.dockr.enable' does not exist." in stderr
    assert f"In `{module}'" in stderr
    # ... and so does the check derivation built from it.
    expr = (
        f"(import {UNIT / 'default.nix'} {{ system = builtins.currentSystem; "
        f"nixosConfigurations = {{ vm = (import {OFFLINE} {{ module = {module}; }}).nixos; "
        "vm-aarch64 = { }; }; }).unit-vm-analysis.drvPath"
    )
    proc = run(["nix-instantiate", "--eval", "--expr", expr])
    assert proc.returncode != 0
    assert "The option `virtualisation.dockr.enable' does not exist." in proc.stderr


def test_the_modules_own_options_are_known() -> None:
    result = offline(
        '{ extraConfig = { vmtest = { testUser.name = "alice"; allowPasswordAuthentication = false; }; }; }',
        " // { nixos = null; }",
    )
    assert result["unknownOptions"] == []
    assert "vmtest.testUser.name" in result["definedPaths"]


def test_a_type_error_names_the_option_and_file_not_the_rules() -> None:
    stderr = offline_failure('{ extraConfig = { services.openssh.ports = "22"; }; }')
    assert "A definition for option `services.openssh.ports' is not of type `listOf port'" in stderr
    assert "In `extraConfig'" in stderr
    assert "rules.nix" not in stderr


def test_lists_concatenate_and_priorities_win_like_the_module_system() -> None:
    # A list definition adds to the module's (it does not replace it) ...
    packages = offline(
        '{ extraConfig = { environment.systemPackages = [ { type = "derivation"; pname = "htop"; name = "htop"; } ]; }; }',
        ".data.environment.systemPackages",
    )
    assert {"git", "htop", "openssh", "docker", "sudo"} <= set(packages)
    # ... a plain definition beats the module's mkDefault, mkForce beats a plain one.
    root = offline(
        '{ extraConfig = { fileSystems."/".device = "/dev/vdb"; }; }',
        '.data.fileSystems."/".device',
    )
    assert root == "/dev/vdb"
    forced = offline(
        "{ extraConfig = lib: { networking.firewall.allowedTCPPorts = lib.mkForce [ 80 ]; }; }",
        ".data.networking.firewall.allowedTCPPorts",
    )
    assert forced == [80]
    # Two plain definitions of a single value must agree.
    stderr = offline_failure(
        '{ extraConfig = { services.openssh.settings.PermitRootLogin = "yes"; }; }'
    )
    assert (
        "The option `services.openssh.settings.PermitRootLogin' has conflicting definition values"
        in stderr
    )


def test_openssh_comes_from_programs_ssh_core_packages() -> None:
    # vm-shared.nix does not list openssh: programs.ssh puts it into corePackages.
    assert "openssh" not in VM_SHARED.read_text(encoding="utf-8").split("systemPackages", 1)[1][:80]
    findings = offline(
        "{ extraConfig = lib: { environment.corePackages = lib.mkForce [ ]; }; }",
        ".findings",
    )
    assert [f["message"] for f in findings] == ["Missing required package: openssh"]


def test_test_user_options_reach_the_user() -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test@vmtest"
    data = offline(
        f'{{ extraConfig = {{ vmtest.testUser = {{ name = "alice";'
        f"    authorizedKeys = [ {json.dumps(key)} ]; initialPassword = null; }}; }}; }}",
        ".data",
    )
    alice = data["users"]["users"]["alice"]
    assert alice["openssh"]["authorizedKeys"]["keys"] == [key]
    assert alice["initialPassword"] is None
    assert alice["extraGroups"] == ["wheel", "docker"]
    assert "dev" not in data["users"]["users"]


def test_password_authentication_escape_hatch_turns_sshd_passwords_on() -> None:
    data = offline("{ extraConfig = { vmtest.allowPasswordAuthentication = true; }; }", ".data")
    assert data["services"]["openssh"]["settings"]["PasswordAuthentication"] is True
    findings = offline(
        "{ extraConfig = { vmtest.allowPasswordAuthentication = true; }; }", ".findings"
    )
    assert findings == []


def test_the_real_check_derivation_passes_on_the_offline_configs() -> None:
    # tests/unit/default.nix (the flake's check) on the offline-evaluated
    # vm-shared.nix as both configurations.
    expr = (
        f"let o = a: (import {OFFLINE} a).nixos; in "
        f"(import {UNIT / 'default.nix'} {{ system = builtins.currentSystem; "
        "nixosConfigurations = { vm = o { }; "
        'vm-aarch64 = o { name = "vm-aarch64"; hostPlatform = "aarch64-linux"; }; }; })'
        ".unit-vm-analysis"
    )
    out = json.loads(checked(["nix", "build", "--no-link", "--json", "--impure", "--expr", expr]))
    text = Path(out[0]["outputs"]["out"]).read_text(encoding="utf-8")
    rules = len(eval_json(f"(import {UNIT / 'rules.nix'}).ruleIds"))
    assert text == f"vm-analysis: OK ({rules} rules, 0 warnings) for vm, vm-aarch64\n"


def test_the_check_fails_on_a_platform_mixup() -> None:
    # vm-aarch64 built for x86_64-linux: the platform rule names that config.
    expr = (
        f"let o = a: (import {OFFLINE} a).nixos; in "
        f"(import {UNIT / 'default.nix'} {{ system = builtins.currentSystem; "
        "nixosConfigurations = { vm = o { }; vm-aarch64 = o { }; }; })"
        ".unit-vm-analysis.findings.errors"
    )
    errors = eval_json(expr)
    assert [e["message"] for e in errors] == [
        "[vm-aarch64] Target platform is x86_64-linux, expected aarch64-linux"
    ]


def test_boot_loader_devices_come_from_device_devices_or_mirrored_boots() -> None:
    no_device = '{ extraConfig = { boot.loader.grub.device = ""; }; }'
    assert [f["id"] for f in offline(no_device, ".findings")] == ["boot-loader"]
    mirrored = (
        '{ extraConfig = { boot.loader.grub = { device = "";'
        '    mirroredBoots = [ { path = "/boot"; devices = [ "/dev/vdb" ]; } ]; }; }; }'
    )
    assert offline(mirrored, ".findings") == []
    assert offline(mirrored, ".data.boot.loader.grub.devices") == ["/dev/vdb"]


def test_a_key_only_test_user_cannot_use_sudo_with_a_wheel_password() -> None:
    key_only = '{ extraConfig = { vmtest.testUser = { initialPassword = null; authorizedKeys = [ "ssh-ed25519 AAAA k" ]; }; }; }'
    assert [f["message"] for f in offline(key_only, ".findings")] == [
        "Test user dev cannot use sudo: security.sudo.wheelNeedsPassword = true and dev has no password"
    ]
    no_password_needed = (
        '{ extraConfig = lib: { vmtest.testUser = { initialPassword = null; authorizedKeys = [ "k" ]; };'
        "    security.sudo.wheelNeedsPassword = lib.mkForce false; }; }"
    )
    assert offline(no_password_needed, ".findings") == []


# ---- Traps real NixOS has (nixos-24.11), modelled offline ----


def test_a_passing_assertion_has_a_message_that_does_not_evaluate() -> None:
    # filesystems.nix: the first assertion's message reads `fileSystems'.cycle`,
    # which exists only when it fails. Its boolean holds; reading its message
    # fails as in NixOS; the analysis (test_vm_shared_has_no_findings_offline)
    # never reads it.
    assertions = f"(import {OFFLINE} {{ }}).nixos.config.assertions"
    assert eval_json(f"map (a: a.assertion) {assertions}") == [True, True]
    proc = run(["nix-instantiate", "--eval", "--expr", f"(builtins.head {assertions}).message"])
    assert proc.returncode != 0
    assert "attribute 'cycle' missing" in proc.stderr


def test_a_listen_address_without_addr_fails_in_nixos_not_in_the_rules() -> None:
    # sshd.nix's Kerberos assertion reads the generated "ListenAddress ${addr}"
    # before its "addr must be specified" assertion: NixOS itself fails with
    # "cannot coerce null to a string" (recorded from the real tree in
    # tests/unit/recorded, variant sshd-listen-no-addr). The quick tier forces
    # what NixOS forces, so it fails the same way, never inside a rule.
    args = "{ extraConfig = { services.openssh.listenAddresses = [ { port = 22; } ]; }; }"
    proc = run(
        [
            "nix-instantiate",
            "--eval",
            "--strict",
            "--show-trace",
            "--expr",
            f"(import {OFFLINE} {args}).findings",
        ]
    )
    assert proc.returncode != 0
    assert "cannot coerce null to a string" in proc.stderr
    assert "tests/unit/offline.nix" in proc.stderr  # the model of sshd.nix
    for ours in ["rules.nix", "semantics.nix"]:
        assert f"tests/unit/{ours}" not in proc.stderr


def test_a_firewall_that_is_off_trusts_nothing_and_is_not_read_further() -> None:
    # firewall.nix adds "lo" to trustedInterfaces under mkIf cfg.enable.
    off = "{ extraConfig = lib: { networking.firewall.enable = lib.mkForce false; }; }"
    assert offline(off, ".nixos.config.networking.firewall.trustedInterfaces") == []
    assert offline(off, ".data.networking.firewall") == {"enable": False}


def test_two_boot_loaders_join_their_ids() -> None:
    # system.boot.loader.id has no type: mergeDefaultOption concatenates strings.
    both = (
        "{ extraConfig = lib: { boot.loader = { grub.enable = lib.mkForce true;"
        "    systemd-boot.enable = true; }; }; }"
    )
    assert offline(both, ".data.system.boot.loader.id") == "grubsystemd-boot"
    assert offline(attr=".data.system.boot.loader.id") == "grub"
    arm = '{ hostPlatform = "aarch64-linux"; }'
    assert offline(arm, ".data.system.boot.loader.id") == "systemd-boot"


def test_the_root_file_system_is_found_by_its_mount_point(tmp_path: Path) -> None:
    module = tmp_path / "vm-shared.nix"
    module.write_text(
        VM_SHARED.read_text(encoding="utf-8").replace(
            'fileSystems."/" = lib.mkDefault {',
            'fileSystems.root = lib.mkDefault {\n      mountPoint = "/";',
        ),
        encoding="utf-8",
    )
    assert "fileSystems.root" in module.read_text(encoding="utf-8")
    result = offline(f"{{ module = {module}; }}", " // { nixos = null; }")
    assert result["data"]["fileSystems"] == {
        "/": {"device": "/dev/disk/by-label/nixos", "fsType": "ext4"}
    }
    assert result["findings"] == []


@pytest.mark.parametrize(
    ("name", "args"),
    [("vm", "{ }"), ("vm-aarch64", '{ name = "vm-aarch64"; hostPlatform = "aarch64-linux"; }')],
)
def test_the_offline_model_agrees_with_the_real_evaluation(name: str, args: str) -> None:
    # tests/unit/recorded/real-evaluations.json: extract.nix on the real
    # nixos-24.11 evaluation of the same vm-shared.nix. Every value the model
    # has must be the real one (the real system has more users, groups and
    # packages than the model knows).
    recordings = REPO / "tests" / "unit" / "recorded" / "real-evaluations.json"
    real = json.loads(recordings.read_text(encoding="utf-8"))["recordings"][name]["data"]
    model = offline(args, ".data")
    for part in ["services", "networking", "security", "boot", "fileSystems", "system", "nixpkgs"]:
        assert model[part] == real[part], part
    assert model["virtualisation"] == real["virtualisation"]
    assert model["vmtest"] == real["vmtest"]
    assert model["users"]["users"]["dev"] == real["users"]["users"]["dev"]
    assert set(model["environment"]["systemPackages"]) - {"coreutils"} <= set(
        real["environment"]["systemPackages"]
    )
