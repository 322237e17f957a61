"""tests/unit/extract.nix on a stand-in for a nixosSystem result, with the real nix.

No nixpkgs here, so the "NixOS system" is a small attrset shaped like the part
of `nixpkgs.lib.nixosSystem { ... }` that the extractor reads. Its toplevel
behaves like nixpkgs' (nixos/modules/system/activation/top-level.nix, via
lib.asserts.checkAssertWarn): failed assertions make `toplevel` throw. What a
user sees is the findings of the real rules and the real check derivation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nixeval import UNIT, checked, eval_json, run

# A fake NixOS result. `assertions` and `toplevelThrow` break it; `config` is
# merged recursively over the defaults (packages and lists are replaced).
STUB = """
{ assertions ? [ ], warnings ? [ ], toplevelThrow ? null, config ? { } }:
let
  pkg = n: { type = "derivation"; pname = n; name = "${n}-1.0"; };
  failed = builtins.filter (a: !a.assertion) assertions;
  toplevel =
    if failed != [ ] then
      throw "\\nFailed assertions:\\n${builtins.concatStringsSep "\\n" (map (a: "- ${a.message}") failed)}"
    else if toplevelThrow != null then
      throw toplevelThrow
    else
      derivation { name = "nixos-system-vmtest"; system = "x86_64-linux"; builder = "/bin/sh"; };
  sudoRule = x: { users = [ ]; groups = [ ]; host = "ALL"; runAs = "ALL:ALL"; } // x;
  defaults = {
    virtualisation.docker.enable = true;
    nixpkgs.hostPlatform.system = "x86_64-linux";
    networking = {
      hostName = "vmtest";
      firewall = {
        enable = true;
        allowedTCPPorts = [ 22 ];
        allowedTCPPortRanges = [ ];
        trustedInterfaces = [ "lo" ];
        interfaces = { };
      };
    };
    services.openssh = {
      enable = true;
      ports = [ 22 ];
      listenAddresses = [ ];
      startWhenNeeded = false;
      settings = {
        PermitRootLogin = "no";
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        AllowUsers = null;
        AllowGroups = null;
        DenyUsers = null;
        DenyGroups = null;
      };
    };
    users = {
      mutableUsers = true;
      groups.wheel = { members = [ "dev" ]; gid = 1; };
      users.dev = {
        name = "dev";
        uid = 1000;
        isNormalUser = true;
        enable = true;
        group = "users";
        extraGroups = [ "wheel" "docker" ];
        shell = pkg "bash-interactive" // { shellPath = "/bin/bash"; };
        password = null;
        initialPassword = "dev";
        hashedPassword = null;
        initialHashedPassword = null;
        hashedPasswordFile = null;
        openssh.authorizedKeys = { keys = [ ]; keyFiles = [ ]; };
      };
    };
    security = {
      sudo = {
        enable = true;
        wheelNeedsPassword = true;
        defaultOptions = [ "SETENV" ];
        extraRules = [
          (sudoRule { users = [ "root" ]; commands = [ { command = "ALL"; options = [ "SETENV" ]; } ]; })
          (sudoRule { groups = [ "wheel" ]; commands = [ { command = "ALL"; options = [ "SETENV" ]; } ]; })
        ];
      };
      sudo-rs.enable = false;
      doas.enable = false;
    };
    environment.systemPackages = [ (pkg "openssh") (pkg "git") ];
    boot = {
      isContainer = false;
      loader = {
        grub = { enable = true; efiSupport = false; devices = [ "/dev/vda" ]; mirroredBoots = [ ]; };
        systemd-boot.enable = false;
        generic-extlinux-compatible.enable = false;
      };
    };
    fileSystems."/" = { mountPoint = "/"; device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
    system = {
      stateVersion = "26.05";
      boot.loader.id = "grub";
      build.toplevel = toplevel;
    };
    inherit assertions warnings;
    vmtest = { testUser.name = "dev"; allowPasswordAuthentication = false; };
  };
  update =
    a: b:
    if builtins.isAttrs a && builtins.isAttrs b && !(b ? type) then
      a // builtins.mapAttrs (n: v: if a ? ${n} then update a.${n} v else v) b
    else
      b;
in
{
  config = update defaults config;
  options.system.stateVersion.highestPrio = 100;
}
"""


def write_stub(tmp_path: Path) -> Path:
    path = tmp_path / "nixos-stub.nix"
    path.write_text(STUB, encoding="utf-8")
    return path


def data_expr(stub: Path, args: str) -> str:
    return (
        f'import {UNIT / "extract.nix"} {{ name = "vm"; expectedPlatform = "x86_64-linux";'
        f" nixos = import {stub} {args}; }}"
    )


def findings(tmp_path: Path, args: str = "{ }") -> list[dict[str, Any]]:
    stub = write_stub(tmp_path)
    result: list[dict[str, Any]] = eval_json(
        f"import {UNIT / 'analyse.nix'} ({data_expr(stub, args)})"
    )
    return result


def test_a_clean_stand_in_system_has_no_findings(tmp_path: Path) -> None:
    assert findings(tmp_path) == []
    stub = write_stub(tmp_path)
    analysis = eval_json(f"({data_expr(stub, '{ }')})._analysis")
    assert analysis["instantiates"] is True


def test_a_failing_assertion_is_a_finding_not_an_evaluation_abort(tmp_path: Path) -> None:
    args = '{ assertions = [ { assertion = false; message = "sshd needs a host key"; } ]; }'
    result = findings(tmp_path, args)
    # toplevel threw (caught by tryEval); the assertion itself is the report.
    assert [(f["id"], f["message"]) for f in result] == [
        ("nixos-assertions", "NixOS assertion failed: sshd needs a host key")
    ]
    stub = write_stub(tmp_path)
    assert eval_json(f"({data_expr(stub, args)})._analysis.instantiates") is False


def test_the_check_derivation_instantiates_and_fails_with_the_assertion(tmp_path: Path) -> None:
    stub = write_stub(tmp_path)
    args = '{ assertions = [ { assertion = false; message = "sshd needs a host key"; } ]; }'
    entry = tmp_path / "check.nix"
    entry.write_text(
        f"import {UNIT / 'check.nix'} {{ system = builtins.currentSystem;"
        f' configs = [ {{ name = "vm"; data = {data_expr(stub, args)}; }} ]; }}\n',
        encoding="utf-8",
    )
    drv = checked(["nix-instantiate", str(entry)]).strip()
    proc = run(["nix", "build", "--no-link", "-f", str(entry)])
    assert proc.returncode != 0
    log = checked(["nix", "log", drv])
    assert log.splitlines()[:3] == [
        "error: VM configuration has issues:",
        "  - NixOS assertion failed: sshd needs a host key",
        "      rule: nixos-assertions",
    ]


def test_a_throwing_toplevel_without_failed_assertions_is_reported(tmp_path: Path) -> None:
    result = findings(tmp_path, '{ toplevelThrow = "Package foo is marked as broken"; }')
    assert [f["id"] for f in result] == ["system-instantiates"]


def test_port_22_opened_by_range_is_reachable_per_interface_only_warned(tmp_path: Path) -> None:
    closed = "{ networking.firewall.allowedTCPPorts = [ ]; }"
    assert [f["id"] for f in findings(tmp_path, f"{{ config = {closed}; }}")] == ["ssh-port"]
    by_range = (
        "{ networking.firewall = { allowedTCPPorts = [ ];"
        "  allowedTCPPortRanges = [ { from = 20; to = 23; } ]; }; }"
    )
    assert findings(tmp_path, f"{{ config = {by_range}; }}") == []
    per_interface = (
        "{ networking.firewall = { allowedTCPPorts = [ ];"
        "  interfaces.eth1 = { allowedTCPPorts = [ 22 ]; allowedTCPPortRanges = [ ]; }; }; }"
    )
    assert [
        (f["id"], f["severity"]) for f in findings(tmp_path, f"{{ config = {per_interface}; }}")
    ] == [("ssh-port", "warning")]


def test_a_non_grub_boot_loader_module_counts_as_a_boot_loader(tmp_path: Path) -> None:
    # limine.nix: grub.enable = mkDefault false; system.boot.loader.id = "limine".
    limine = (
        "{ boot = { isContainer = false; loader = {"
        "    grub = { enable = false; devices = [ ]; mirroredBoots = [ ]; };"
        "    systemd-boot.enable = false; generic-extlinux-compatible.enable = false; }; };"
        '  system = { stateVersion = "26.05"; boot.loader.id = "limine";'
        '    build.toplevel = derivation { name = "t"; system = "x86_64-linux"; builder = "/bin/sh"; }; }; }'
    )
    assert findings(tmp_path, f"{{ config = {limine}; }}") == []
    no_loader = limine.replace('"limine"', '""')
    assert [f["id"] for f in findings(tmp_path, f"{{ config = {no_loader}; }}")] == ["boot-loader"]


def test_an_error_in_the_configuration_is_not_reported_from_the_rules(tmp_path: Path) -> None:
    # The module system's own error for a bad definition, raised when the
    # option is read: it names the user's file. Neither the message nor the
    # trace may point into tests/unit/rules.nix.
    stub = write_stub(tmp_path)
    error = (
        "A definition for option `services.openssh.ports' is not of type `list of 16 bit unsigned"
        " integer; between 0 and 65535 (both inclusive)'. Definition values:"
        ' - In `/nix/store/x-source/machines/nixos/vm-shared.nix\': \\"22\\"'
    )
    entry = tmp_path / "check.nix"
    entry.write_text(
        f"import {UNIT / 'check.nix'} {{ system = builtins.currentSystem; configs = [ {{"
        f' name = "vm"; data = {data_expr(stub, f"{{ config.services.openssh.ports = throw {json.dumps(error)}; }}")}; }} ]; }}\n',
        encoding="utf-8",
    )
    proc = run(["nix-instantiate", "--show-trace", str(entry)])
    assert proc.returncode != 0
    assert "machines/nixos/vm-shared.nix" in proc.stderr
    assert "services.openssh.ports" in proc.stderr
    # No position ("at <file>:<line>:<col>") in the rules' files.
    assert "/tests/unit/rules.nix:" not in proc.stderr, proc.stderr
    assert "/tests/unit/semantics.nix:" not in proc.stderr, proc.stderr


def test_doas_groups_and_listen_addresses_reach_the_rules(tmp_path: Path) -> None:
    config = (
        "{ config = { security = { sudo.enable = false; doas = { enable = true; wheelNeedsPassword = true;"
        '      extraRules = [ { users = [ ]; groups = [ "wheel" ]; noPass = false; persist = false;'
        "        keepEnv = false; runAs = null; cmd = null; args = null; } ]; }; };"
        '    users.users.dev.extraGroups = [ "wheel" ];'
        '    users.groups.docker = { members = [ "dev" ]; gid = 131; };'
        '    services.openssh.listenAddresses = [ { addr = "0.0.0.0"; port = 2222; } ]; }; }'
    )
    result = findings(tmp_path, config)
    assert [(f["id"], f["message"]) for f in result] == [
        ("ssh-port", "sshd does not listen on port 22 (listenAddresses = 0.0.0.0:2222)")
    ]


# ---- Force only what NixOS forces (nixos/modules/system/activation/top-level.nix) ----


def test_a_passing_assertions_message_is_never_read(tmp_path: Path) -> None:
    # filesystems.nix: the message reads `fileSystems'.cycle`, which exists only
    # when the assertion fails; NixOS evaluates messages of failing ones only.
    args = '{ assertions = [ { assertion = true; message = "path ${({ }).cycle}"; } ]; }'
    assert findings(tmp_path, args) == []


def test_a_failed_assertion_is_all_nixos_reads_and_all_that_is_judged(tmp_path: Path) -> None:
    # sshd.nix asserts addr != null for each listenAddresses entry. NixOS stops at
    # the failed assertion: no warning is shown, no other option is judged (the
    # ssh-port rule would otherwise read the null address).
    args = (
        '{ assertions = [ { assertion = false; message = "addr must be specified in each listenAddresses entry"; } ];'
        '  warnings = [ (throw "NixOS shows no warning after a failed assertion") ];'
        "  config.services.openssh.listenAddresses = [ { addr = null; port = 22; } ]; }"
    )
    assert [(f["id"], f["message"]) for f in findings(tmp_path, args)] == [
        (
            "nixos-assertions",
            "NixOS assertion failed: addr must be specified in each listenAddresses entry",
        )
    ]


def test_a_system_that_does_not_instantiate_names_the_nix_eval_that_shows_why(
    tmp_path: Path,
) -> None:
    (finding,) = findings(tmp_path, '{ toplevelThrow = "Only one bootloader can be enabled"; }')
    assert finding["message"] == (
        "The system derivation does not instantiate: nix eval --raw"
        " .#nixosConfigurations.vm.config.system.build.toplevel.drvPath shows why"
    )


def test_the_root_file_system_is_the_one_mounted_on_slash(tmp_path: Path) -> None:
    # filesystems.nix: mountPoint defaults to the attribute name; any name may carry "/".
    config = (
        '{ config.fileSystems = { "/".mountPoint = "/data";'
        '    rootfs = { mountPoint = "/"; device = "/dev/vdb"; fsType = "xfs"; }; }; }'
    )
    stub = write_stub(tmp_path)
    root = eval_json(f"({data_expr(stub, config)}).fileSystems")
    assert root == {"/": {"device": "/dev/vdb", "fsType": "xfs"}}


def test_a_disabled_services_settings_are_not_read(tmp_path: Path) -> None:
    # sshd.nix reads its settings under mkIf cfg.enable; so does the extraction.
    config = (
        "{ config.services.openssh = { enable = false;"
        '    ports = throw "ports of a disabled sshd";'
        '    settings.PermitRootLogin = throw "settings of a disabled sshd"; }; }'
    )
    assert [f["id"] for f in findings(tmp_path, config)] == ["openssh-enabled"]
