"""ty, ruff and mypy run on the composed scripts, their findings mapped to the files' lines.

nixpkgs' test build (nixos/lib/testing/driver.nix) checks testScriptWithTypes, the
prepend, the node lines and the testScript in one file: since nixpkgs PR #509615 ("Use
ty and ruff instead of mypy and pyflakes on test scripts", before the 26.05 branch-off)
with `ruff check testScriptWithTypes` (ruff's default rules: nothing in the build
directory configures it, hence `--isolated` here) and ty; before it with `mypy
--no-implicit-optional` and pyflakes. The exact ty flags of that driver.nix could not
be read here (no stored copy after the PR); ty runs with its defaults, which fail on
errors only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vmtest.errors import EnvironmentNotReady
from vmtest.scriptlint.compose import MODEL_DIR, CheckedFile
from vmtest.scriptlint.rules import LintProblem

#: Python of the driver that runs the scripts (it needs >= 3.13).
DRIVER_PYTHON = "3.13"
_MYPY_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?:\d+:)? (?P<kind>error|note): (?P<msg>.*)$"
)
_TY_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):\d+: (?P<kind>error|warning|info)\[(?P<rule>[^\]]+)\] "
    r"(?P<msg>.*)$"
)

Finding = tuple[str, int, str]  # file name, line in the composed file, message


@contextmanager
def composed_files(project_root: Path, files: list[CheckedFile]) -> Iterator[Path]:
    """A directory holding the composed files and the modelled driver modules they import."""
    with tempfile.TemporaryDirectory(prefix="vmtest-scriptlint-") as tmp:
        workdir = Path(tmp)
        shutil.copytree(project_root / MODEL_DIR / "test_driver", workdir / "test_driver")
        for checked in files:
            (workdir / checked.name).write_text(checked.text)
        yield workdir


def _run(tool: str, argv: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", *argv], cwd=workdir, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise EnvironmentNotReady(f"{tool} could not be started: {exc}") from exc


def _broken(tool: str, proc: subprocess.CompletedProcess[str], found: bool) -> None:
    # Exit 1 means findings (mypy: 2 with a blocking error, reported like the others);
    # any other exit without a single finding is a tool that did not run.
    if proc.returncode not in (0, 1) and not found:
        detail = (proc.stderr or proc.stdout).strip()
        raise EnvironmentNotReady(f"{tool} failed to run (exit {proc.returncode}): {detail}")


def run_ruff(workdir: Path, names: list[str]) -> list[Finding]:
    argv = ["ruff", "check", "--isolated", "--no-cache", "--output-format", "json", *names]
    proc = _run("ruff", argv, workdir)
    try:
        found = json.loads(proc.stdout) if proc.stdout.strip() else []
    except ValueError:
        found = None
    _broken("ruff", proc, bool(found))
    if not isinstance(found, list):
        raise EnvironmentNotReady(f"ruff printed no JSON: {proc.stdout[:200]}")
    return [
        (
            Path(item["filename"]).name,
            int(item["location"]["row"]),
            f"{item['code']}: {item['message']}" if item.get("code") else str(item["message"]),
        )
        for item in found
    ]


def run_ty(workdir: Path, names: list[str]) -> list[Finding]:
    argv = ["ty", "check", "--no-progress", "--color", "never", "--output-format", "concise"]
    argv += ["--python-version", DRIVER_PYTHON, *names]
    proc = _run("ty", argv, workdir)
    found = [m for m in map(_TY_LINE.match, proc.stdout.splitlines()) if m]
    _broken("ty", proc, bool(found))
    return [
        (m["file"], int(m["line"]), f"{m['rule']}: {m['msg']}")
        for m in found
        if m["kind"] == "error"
    ]


def run_mypy(workdir: Path, names: list[str]) -> list[Finding]:
    (workdir / "mypy.ini").write_text("[mypy]\n")
    argv = [
        "mypy", "--config-file", "mypy.ini", "--no-implicit-optional", "--no-color-output",
        "--no-error-summary", "--hide-error-context", "--show-error-codes",
        "--python-version", DRIVER_PYTHON, "--cache-dir", "cache", *names,
    ]  # fmt: skip
    proc = _run("mypy", argv, workdir)
    found = [m for m in map(_MYPY_LINE.match, proc.stdout.splitlines()) if m]
    _broken("mypy", proc, bool(found))
    return [(m["file"], int(m["line"]), m["msg"]) for m in found if m["kind"] == "error"]


Runner = Callable[[Path, list[str]], list[Finding]]
#: Tool name -> its runner (the importable module is the tool's name).
TOOLS: dict[str, Runner] = {"ty": run_ty, "ruff": run_ruff, "mypy": run_mypy}


def located(tool: str, findings: list[Finding], files: list[CheckedFile]) -> list[LintProblem]:
    """Findings on the composed files, at their source files' own lines where they come from."""
    by_name = {checked.name: checked for checked in files}
    problems = []
    for name, line, message in findings:
        target = by_name.get(name)
        where = target.locate(line) if target else None
        source, at = where if where else (Path(name), line)
        problems.append(LintProblem(tool, source, at, message))
    return problems
