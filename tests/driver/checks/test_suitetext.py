"""`vm-test-suite`'s text report (recorded from tests/e2e/report/vmtest_e2e.py) as subtests."""

from __future__ import annotations

from pathlib import Path

from vmtest.checks.suitetext import CheckBlock, parse_suite_text
from vmtest.report.model import Status, SubtestResult

LOGS = Path(__file__).parents[1] / "fixtures" / "logs"

SERVICE = CheckBlock(
    name="vm-service-test",
    passed=False,
    duration=31.5,
    subtests=[
        SubtestResult(name="sshd accepts the test key", status=Status.PASSED, duration=0.5),
        SubtestResult(
            name="docker runs a container",
            status=Status.FAILED,
            duration=1.2,
            message="Exception: command `docker run vmtest-hello` failed (exit code 125)\n"
            "second line",
        ),
        SubtestResult(name="the test user is in the docker group", status=Status.NOT_RUN),
    ],
)


def test_one_suite_text_block() -> None:
    assert parse_suite_text((LOGS / "e2e-judge.txt").read_text()) == [SERVICE]


def test_suite_report_blocks() -> None:
    checks = parse_suite_text((LOGS / "e2e-suite.txt").read_text())
    assert [c.name for c in checks] == [
        "vm-service-test",
        "vm-config-integrity-test",
        "vm-execution-test",
    ]
    assert checks[0] == SERVICE
    assert checks[1] == CheckBlock(
        name="vm-config-integrity-test",
        passed=False,
        duration=None,
        subtests=[SubtestResult(name="configuration matches vm-shared.nix", status=Status.NOT_RUN)],
        error="no result recorded: the check did not run",
    )
    assert checks[2].passed and checks[2].subtests == [
        SubtestResult(name="the VM reaches multi-user.target", status=Status.PASSED, duration=12.5)
    ]


def test_noise_around_blocks_is_ignored() -> None:
    block = (LOGS / "e2e-judge.txt").read_text()
    text = f"building '/nix/store/x.drv'...\n\x1b[1m{block}\x1b[0m\nFor full logs, run 'nix log'\n"
    assert parse_suite_text(text) == [SERVICE]
    assert parse_suite_text("    ok       orphan subtest\nnothing here\n") == []
