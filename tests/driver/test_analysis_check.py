"""The unit-vm-analysis derivation, built for real on fixture data.

tests/unit/fixtures/check.nix feeds fixture data through the same report and
derivation code (tests/unit/check.nix) that checks.<system>.unit-vm-analysis
uses; these tests `nix build` it for the current system and read what a user
sees: the failing build's log (`nix log`) or the passing build's $out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nixeval import UNIT, checked, eval_json, run

ENTRY = UNIT / "fixtures" / "check.nix"
RULE_COUNT = len(eval_json(f"(import {UNIT / 'rules.nix'}).ruleIds"))

MULTI_FAULT_LOG = """\
error: VM configuration has issues:
  - Docker service not properly configured
      rule: docker-enabled
      option: virtualisation.docker.enable
      fix: set virtualisation.docker.enable = true;
  - Missing required package: openssh
      rule: openssh-package
      option: programs.ssh.package
      fix: keep programs.ssh.package an OpenSSH (NixOS installs it in every system: environment.corePackages in newer NixOS, system-path.nix's required packages in 24.11) and do not force that list empty
  - sshd permits root login (PermitRootLogin = yes)
      rule: sshd-root-login
      option: services.openssh.settings.PermitRootLogin
      fix: set services.openssh.settings.PermitRootLogin = "no";
  - system.stateVersion is not set
      rule: state-version
      option: system.stateVersion
      fix: set system.stateVersion to the release the VM was first installed with, e.g. "26.05"
warning: VM configuration has warnings:
  - NixOS warning: The option `fixture.old' is deprecated.
      rule: nixos-warnings
      option: warnings
      fix: change the options the warning names
unit-vm-analysis: 4 issues (docker-enabled, openssh-package, sshd-root-login, state-version), 1 warning (nixos-warnings)
full list: nix log .#checks.{system}.unit-vm-analysis (or vmtest quick)
"""


def fixtures_arg(*names: str) -> list[str]:
    return ["--arg", "fixtures", "[ " + " ".join(f'"{n}"' for n in names) + " ]"]


def build(*names: str) -> tuple[int, str, str]:
    """Build the check on fixtures: (exit code, stderr, drv path)."""
    drv = checked(["nix-instantiate", str(ENTRY), *fixtures_arg(*names)]).strip()
    proc = run(["nix", "build", "--no-link", "--json", "-f", str(ENTRY), *fixtures_arg(*names)])
    return proc.returncode, proc.stdout + proc.stderr, drv


def out_text(*names: str) -> str:
    stdout = checked(
        ["nix", "build", "--no-link", "--json", "-f", str(ENTRY), *fixtures_arg(*names)]
    )
    out = json.loads(stdout)[0]["outputs"]["out"]
    return Path(out).read_text(encoding="utf-8")


def build_log(drv: str) -> str:
    return checked(["nix", "log", drv])


def test_failing_build_log_has_the_exact_findings_format() -> None:
    code, output, drv = build("multiFault")
    assert code != 0
    assert f"nix log {drv}" in output
    system = eval_json("builtins.currentSystem")
    assert build_log(drv) == MULTI_FAULT_LOG.replace("{system}", system)


def test_plain_nix_builds_last_10_lines_name_every_failing_rule() -> None:
    # `nix build` prints only the last `log-lines` (10 by default) lines of a
    # failed build: with four findings the report's head is cut off, so its
    # last lines must still say how many issues, which rules, and how to see all.
    drv = checked(["nix-instantiate", str(ENTRY), *fixtures_arg("multiFault")]).strip()
    proc = run(
        [
            "nix",
            "build",
            "--no-link",
            "--option",
            "log-lines",
            "10",
            "-f",
            str(ENTRY),
            *fixtures_arg("multiFault"),
        ]
    )
    assert proc.returncode != 0
    tail = proc.stderr.split("last 10 log lines:", 1)[1].splitlines()
    shown = [line.split("> ", 1)[1] for line in tail if line.lstrip().startswith(">")]
    assert len(shown) == 10, proc.stderr
    errors = eval_json(
        f'map (f: f.id) (import {ENTRY} {{ fixtures = [ "multiFault" ]; }}).findings.errors'
    )
    assert len(errors) == 4
    summary = [line for line in shown if line.startswith("unit-vm-analysis: 4 issues (")]
    assert summary, shown
    for rule in errors:
        assert rule in summary[0]
    assert any(line.startswith("full list: nix log .#checks.") for line in shown)
    assert f"nix log {drv}" in proc.stderr


def test_the_seed_messages_appear_as_dash_lines_in_the_log() -> None:
    code, _, drv = build("multiFault")
    assert code != 0
    lines = build_log(drv).splitlines()
    assert lines[0] == "error: VM configuration has issues:"
    assert "  - Docker service not properly configured" in lines
    assert "  - Missing required package: openssh" in lines


def test_passing_build_writes_the_summary_to_out() -> None:
    text = out_text("passing")
    assert text == f"vm-analysis: OK ({RULE_COUNT} rules, 0 warnings) for vm\n"


def test_warnings_never_fail_the_check_and_are_listed_in_out() -> None:
    text = out_text("warningsOnly")
    assert text.splitlines() == [
        f"vm-analysis: OK ({RULE_COUNT} rules, 2 warnings) for vm",
        "warning: VM configuration has warnings:",
        "  - The firewall is disabled",
        "      rule: firewall-enabled",
        "      option: networking.firewall.enable",
        "      fix: set networking.firewall.enable = true; and open only the ports the VM serves",
        # a multi-line NixOS warning is folded onto one line
        "  - NixOS warning: A warning that spans two lines.",
        "      rule: nixos-warnings",
        "      option: warnings",
        "      fix: change the options the warning names",
    ]


def test_every_breaking_fixture_fails_the_build_unless_it_is_a_warning() -> None:
    breaks = eval_json(f"builtins.attrNames (import {UNIT / 'fixtures'}).breaks")
    severities = {
        rule: eval_json(
            f"map (f: f.severity) ((import {UNIT / 'rules.nix'}).analyse "
            f'(import {UNIT / "fixtures"}).breaks."{rule}")'
        )
        for rule in breaks
    }
    for rule in breaks:
        code, output, _ = build(f"breaks.{rule}")
        if severities[rule] == ["warning"]:
            assert code == 0, f"warning rule {rule} failed the build:\n{output}"
        else:
            assert code != 0, f"error rule {rule} did not fail the build"


def test_several_configs_share_findings_or_name_their_config() -> None:
    assert out_text("passing", "aarch64").startswith(
        f"vm-analysis: OK ({RULE_COUNT} rules, 0 warnings) for vm, vm-aarch64\n"
    )
    code, _, drv = build("multiFault", "aarch64NoDocker")
    assert code != 0
    log = build_log(drv)
    # Docker is off in both: listed once, as is. The rest only in vm.
    assert "  - Docker service not properly configured\n" in log
    assert "  - [vm] Missing required package: openssh\n" in log
    assert "[vm-aarch64]" not in log
    assert len(re.findall(r"Docker service not properly configured", log)) == 1


def test_store_paths_named_in_nixos_messages_are_text_not_build_inputs(tmp_path: Path) -> None:
    # A NixOS warning that interpolates a package (string context) of a system
    # no builder has: the report must neither depend on nor build it.
    entry = tmp_path / "context.nix"
    entry.write_text(
        f"""
        let
          f = import {UNIT / "fixtures"};
          linuxOnly = derivation {{
            name = "linux-only";
            system = "vmtest-no-such-system";
            builder = "/bin/false";
          }};
        in
        import {UNIT / "check.nix"} {{
          system = builtins.currentSystem;
          configs = [ {{
            name = "vm";
            data = f.passing // {{ warnings = [ "see ${{linuxOnly}}/etc/thing" ]; }};
          }} ];
        }}
        """,
        encoding="utf-8",
    )
    drv = checked(["nix-instantiate", str(entry)]).strip()
    # The check's .drv refers to nothing in the store (no inputs at all).
    assert checked(["nix-store", "--query", "--references", drv]).split() == []
    stdout = checked(["nix", "build", "--no-link", "--json", "-f", str(entry)])
    text = Path(json.loads(stdout)[0]["outputs"]["out"]).read_text(encoding="utf-8")
    assert re.search(r"  - NixOS warning: see /nix/store/[a-z0-9]{32}-linux-only/etc/thing\n", text)
