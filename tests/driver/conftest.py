"""Shared fixtures: the real `vmtest` (a subprocess) against copies of fixture flakes.

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
from pathlib import Path
from typing import Any

import pytest
from nixeval import NIX_CONFIG

FIXTURES = Path(__file__).parent / "fixtures"
BASIC_FLAKE = FIXTURES / "flakes" / "basic"


def _nix_dir() -> str | None:
    found = shutil.which("nix")
    return str(Path(found).parent) if found else None


requires_nix = pytest.mark.skipif(_nix_dir() is None, reason="nix is not installed")


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
