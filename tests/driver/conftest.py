"""Shared fixtures: the real `vmtest` (a subprocess) against copies of fixture flakes;
recorded nix logs replayed through the parser; a sample run report.

Nothing here changes os.environ: each test gets its own environment dict.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nixeval import NIX_CONFIG
from vmtest.nix.logevents import Event
from vmtest.nix.logparse import LogParser
from vmtest.report.model import (
    CheckResult,
    EvalErrorInfo,
    FailureInfo,
    Finding,
    PhaseTimes,
    RunReport,
    Status,
    SubtestResult,
    overall_status,
)

FIXTURES = Path(__file__).parent / "fixtures"
LOGS = FIXTURES / "logs"
BASIC_FLAKE = FIXTURES / "flakes" / "basic"


def _nix_dir() -> str | None:
    found = shutil.which("nix")
    return str(Path(found).parent) if found else None


requires_nix = pytest.mark.skipif(_nix_dir() is None, reason="nix is not installed")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `nix` every test that runs the real nix (`pytest -m nix` selects them; .ci/run
    runs them again under a second Nix version): those using the `nix_env` fixture, those
    of a module that uses the helpers of `nixeval` (itself or through another test module),
    and those marked by hand (`pytest.mark.nix`) that call nix in their own way."""
    for item in items:
        module = getattr(item, "module", None)
        if "nix_env" in getattr(item, "fixturenames", ()) or _uses_nixeval(module):
            item.add_marker(pytest.mark.nix)


def _uses_nixeval(module: ModuleType | None, depth: int = 0) -> bool:
    if module is None:
        return False
    for value in vars(module).values():
        name = getattr(value, "__module__", None)
        if name == "nixeval":
            return True
        other = (
            sys.modules.get(name) if isinstance(name, str) and name.startswith("test_") else None
        )
        if depth == 0 and other not in (None, module) and _uses_nixeval(other, depth + 1):
            return True
    return False


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def nix_env(tmp_path: Path) -> dict[str, str]:
    """An environment with flakes on, no substituters, and no GitHub Actions variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "NIX_CONFIG"))}
    env["NIX_CONFIG"] = NIX_CONFIG
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def flake(tmp_path: Path) -> Path:
    """A private copy of the basic fixture flake with a unique marker."""
    dest = tmp_path / "flake"
    shutil.copytree(BASIC_FLAKE, dest)
    set_settings(dest, marker=f"t-{uuid.uuid4().hex}")
    return dest


def set_settings(flake_dir: Path, marker: str, analysis_fails: bool = False) -> None:
    text = f'{{ marker = "{marker}"; analysisFails = {"true" if analysis_fails else "false"}; }}\n'
    (flake_dir / "settings.nix").write_text(text)


def marker_of(flake_dir: Path) -> str:
    text = (flake_dir / "settings.nix").read_text()
    return text.split('marker = "', 1)[1].split('"', 1)[0]


def ref(flake_dir: Path) -> str:
    return f"path:{flake_dir}"


def vmtest_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "vmtest", *args]


def run_vmtest(
    args: Sequence[str], env: Mapping[str, str], timeout: float = 60, cwd: Path | None = None
) -> Result:
    done = subprocess.run(
        vmtest_argv(*args),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def load_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def junit_cases(path: Path) -> dict[tuple[str, str], ET.Element]:
    """(classname, name) -> testcase element of a JUnit file."""
    root = ET.parse(path).getroot()
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def check_by_name(report: dict[str, Any], name: str) -> dict[str, Any]:
    for check in report["checks"]:
        if check["name"] == name:
            assert isinstance(check, dict)
            return check
    raise AssertionError(f"no check {name!r} in report: {[c['name'] for c in report['checks']]}")


def processes_with(marker: str, *cmdline_parts: str) -> list[str]:
    """Processes whose environment holds VMTEST_MARKER=<marker> (builders left behind)
    or whose command line contains one of `cmdline_parts` (e.g. a nix build of a drv)."""
    needle = f"VMTEST_MARKER={marker}".encode()
    parts = [p.encode() for p in cmdline_parts]
    found: list[str] = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if needle in (proc / "environ").read_bytes() or any(p in cmdline for p in parts):
                found.append(f"{proc.name}: {cmdline!r}")
        except OSError:
            continue
    return found


# ----------------------------------------------------------------- recorded nix logs


class FakeClock:
    """One second per call, so clock-based durations are deterministic."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def replay(name: str, tail_lines: int = 50) -> tuple[LogParser, list[Event]]:
    parser = LogParser(tail_lines=tail_lines, clock=FakeClock())
    with (LOGS / name).open(encoding="utf-8") as handle:
        events = parser.feed_lines(handle)
    return parser, events


def only_drv(parser: LogParser, suffix: str) -> str:
    matches = [d.drv_path for d in parser.derivations() if d.drv_path.endswith(suffix)]
    assert len(matches) == 1, [d.drv_path for d in parser.derivations()]
    return matches[0]


# ----------------------------------------------------------------- a sample run report

DRV = "/nix/store/" + "q" * 32 + "-vm-test-run-vm-service-test.drv"


def sample_report() -> RunReport:
    service = CheckResult(
        name="vm-service-test",
        attr="checks.x86_64-linux.vm-service-test",
        status=Status.FAILED,
        duration=95.5,
        phases=PhaseTimes(evaluate=4.0, build=40.0, boot=22.75, script=28.0),
        subtests=[
            SubtestResult(name="sshd is running", status=Status.PASSED, duration=13.0),
            SubtestResult(
                name="ssh login works",
                status=Status.FAILED,
                message="command `ssh alice@server true` failed (exit code 255)",
            ),
        ],
        failure=FailureInfo(
            message=f"builder for '{DRV}' failed with exit code 1",
            drv_path=DRV,
            exit_code=1,
            log_tail=[f"\x1b[2mline {i}\x1b[0m\x00" for i in range(1, 81)] + ["a | b ``` c"],
        ),
        artifacts=[],
    )
    quick = CheckResult(
        name="unit-vm-analysis",
        attr="checks.x86_64-linux.unit-vm-analysis",
        status=Status.EVAL_ERROR,
        duration=2.0,
        phases=PhaseTimes(evaluate=2.0),
        findings=[
            Finding(
                id="docker-enabled",
                severity="error",
                option="virtualisation.docker.enable",
                message="Docker service not properly configured",
                fix="set virtualisation.docker.enable = true;",
                config="vm",
            )
        ],
        failure=FailureInfo(
            message="undefined variable 'dockr'",
            eval_error=EvalErrorInfo(
                message="undefined variable 'dockr'",
                file="/nix/store/" + "s" * 32 + "-source/machines/nixos/vm-shared.nix",
                line=12,
                column=5,
            ),
        ),
    )
    passed = CheckResult(
        name="vm-build-test",
        attr="checks.x86_64-linux.vm-build-test",
        status=Status.PASSED,
        duration=0.4,
        artifacts=["/nix/store/" + "o" * 32 + "-vm-build-test"],
    )
    slow = CheckResult(
        name="vm-execution-test",
        attr="checks.x86_64-linux.vm-execution-test",
        status=Status.TIMED_OUT,
        duration=600.0,
    )
    skipped = CheckResult(
        name="platform-validation-test",
        attr="checks.x86_64-linux.platform-validation-test",
        status=Status.NOT_RUN,
    )
    checks = [passed, service, skipped, quick, slow]
    return RunReport(
        tool_version="0.1.0",
        flake=".",
        system="x86_64-linux",
        started_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
        duration=700.0,
        status=overall_status(checks),
        checks=checks,
    )
