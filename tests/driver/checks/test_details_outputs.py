"""Details read from a check's outputs and logs (pure functions over real files)."""

from __future__ import annotations

from pathlib import Path

from vmtest.checks.details import drv_path, output_findings, rule_subtests, state_from_log
from vmtest.checks.manifest import Check
from vmtest.report.model import Finding, Status

RULES = ["docker-enabled", "openssh-package", "sudo-wheel"]
CHECK = Check(
    name="unit-vm-analysis",
    attr="checks.x86_64-linux.unit-vm-analysis",
    tier="quick",
    systems=["x86_64-linux"],
    requiresKvm=False,
    timeoutSeconds=30,
    description="d",
    subtests=RULES,
)


def finding(rule: str, severity: str = "error") -> Finding:
    return Finding.model_validate(
        {"id": rule, "severity": severity, "option": "o", "message": f"{rule} broken", "fix": "f"}
    )


def test_rule_subtests_on_failure() -> None:
    subs = rule_subtests(
        CHECK, Status.FAILED, [finding("docker-enabled"), finding("sudo-wheel", "warning")], []
    )
    assert [(s.name, s.status) for s in subs] == [
        ("docker-enabled", Status.FAILED),
        ("openssh-package", Status.PASSED),
        ("sudo-wheel", Status.PASSED),
    ]
    assert subs[0].message == "docker-enabled broken"


def test_rule_subtests_need_proof_that_the_analysis_ran(tmp_path: Path) -> None:
    # a failure without error findings (e.g. the builder crashed) says nothing about rules
    assert rule_subtests(CHECK, Status.FAILED, [], []) == []
    # a pass counts only with the analysis summary line in its output
    out = tmp_path / "out"
    out.write_text("something else\n")
    assert rule_subtests(CHECK, Status.PASSED, [], [str(out)]) == []
    out.write_text("vm-analysis: OK (3 rules, 0 warnings) for vm\n")
    subs = rule_subtests(CHECK, Status.PASSED, [], [str(out)])
    assert [s.status for s in subs] == [Status.PASSED] * 3


def test_output_findings_and_drv_path(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.write_text(
        "vm-analysis: OK (3 rules, 1 warnings) for vm\n"
        "warning: VM configuration has warnings:\n"
        "  - sudo without password\n"
        "      rule: sudo-wheel\n"
        "      option: security.sudo.wheelNeedsPassword\n"
        "      fix: set security.sudo.wheelNeedsPassword = true;\n"
    )
    assert [(f.id, f.severity) for f in output_findings([str(out), str(tmp_path)])] == [
        ("sudo-wheel", "warning")
    ]
    assert drv_path("warning: x\n/nix/store/abc-x.drv\n") == "/nix/store/abc-x.drv"
    assert drv_path("") == ""


def test_state_from_a_stored_driver_log() -> None:
    lines = [
        "subtest: sshd accepts the test key",
        "(finished: subtest: sshd accepts the test key, in 0.52 seconds)",
        "subtest: docker runs a container",
        '!!! Test "docker runs a container" failed with error: "exit code 125"',
    ]
    state = state_from_log("/nix/store/abc-vm.drv", lines)
    assert [(s.name, s.passed) for s in state.subtests.values()] == [
        ("sshd accepts the test key", True),
        ("docker runs a container", False),
    ]
