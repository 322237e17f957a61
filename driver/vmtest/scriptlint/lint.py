"""Offline type check and lint of the VM test scripts, the way nixpkgs does it in the build.

nixpkgs (nixos/lib/testing/driver.nix) runs `mypy --no-implicit-optional` on the test
script after its prelude and node declarations, and pyflakes on the script with
PYFLAKES_BUILTINS = node names + driver symbols. Here the driver is not installed, so
the texts come from `vmtest.scriptlint.compose`: each booted check's testScript exactly as
tests/e2e/suite.nix builds it (generated line, tests/e2e/script-header.py, the script),
after the model and that check's node declarations for mypy (one run for all), and alone
for pyflakes; plus the suite's own rules and the timeout budget (`vmtest.scriptlint.rules`).
Line numbers are mapped back to each file's own lines.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vmtest.errors import BadInput, EnvironmentNotReady
from vmtest.scriptlint.compose import (
    MODEL_DIR,
    CheckedFile,
    check_script,
    load_suite,
    with_driver_model,
)
from vmtest.scriptlint.rules import LintProblem, check_rules, subtest_names

# Also importable from here: the composer and the rules' names the e2e tests use.
__all__ = [
    "LintProblem",
    "check_script",
    "lint_scripts",
    "load_suite",
    "main",
    "subtest_names",
    "summary",
]

# Driver.test_symbols() keys (nixos/lib/test-driver/src/test_driver/driver.py @ 003d58163f46),
# the list nixpkgs gives pyflakes through `generate-driver-symbols`.
DRIVER_SYMBOLS = [
    "start_all",
    "test_script",
    "machines_qemu",
    "machines_nspawn",
    "vlans",
    "driver",
    "log",
    "os",
    "create_machine",
    "subtest",
    "run_tests",
    "join_all",
    "retry",
    "serial_stdout_off",
    "serial_stdout_on",
    "polling_condition",
    "BaseMachine",
    "t",
    "debug",
]
_MYPY_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?:\d+:)? (?P<kind>error|note): (?P<msg>.*)$"
)


def _require_tools() -> None:
    for module in ("mypy", "pyflakes"):
        if importlib.util.find_spec(module) is None:
            raise EnvironmentNotReady(
                f"{module} is not installed for {sys.executable}",
                hint="run `make venv` (the dev extras include mypy and pyflakes)",
            )


def _run_mypy(project_root: Path, files: list[CheckedFile]) -> list[LintProblem]:
    with tempfile.TemporaryDirectory(prefix="vmtest-scriptlint-") as tmp:
        workdir = Path(tmp)
        (workdir / "mypy.ini").write_text("[mypy]\n")
        # The modelled driver modules the scripts' header imports (test_driver.logger).
        shutil.copytree(project_root / MODEL_DIR / "test_driver", workdir / "test_driver")
        for checked in files:
            (workdir / checked.name).write_text(checked.text)
        argv = [
            sys.executable, "-m", "mypy", "--config-file", "mypy.ini",
            "--no-implicit-optional", "--no-color-output", "--no-error-summary",
            "--hide-error-context", "--show-error-codes", "--cache-dir", "cache",
            *(checked.name for checked in files),
        ]  # fmt: skip
        proc = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, check=False)
    # Exit 2 also means a blocking error in a checked file (e.g. a syntax error), which
    # mypy reports like any other; only output without any error line is a broken tool.
    reported = any(_MYPY_LINE.match(line) for line in proc.stdout.splitlines())
    if proc.returncode not in (0, 1) and not reported:
        detail = (proc.stderr or proc.stdout).strip()
        raise EnvironmentNotReady(f"mypy failed to run (exit {proc.returncode}): {detail}")
    by_name = {checked.name: checked for checked in files}
    problems = []
    for raw in proc.stdout.splitlines():
        match = _MYPY_LINE.match(raw)
        if match is None or match["kind"] != "error":
            continue
        target = by_name.get(match["file"])
        located = target.locate(int(match["line"])) if target else None
        if located is None:
            problems.append(
                LintProblem("mypy", Path(match["file"]), int(match["line"]), match["msg"])
            )
        else:
            problems.append(LintProblem("mypy", located[0], located[1], match["msg"]))
    return problems


def _run_pyflakes(checked: CheckedFile, builtins: set[str]) -> list[LintProblem]:
    from pyflakes.checker import Checker  # type: ignore[import-untyped]

    try:
        tree = ast.parse(checked.text, filename=checked.name)
    except SyntaxError:
        return []  # reported by the structural check and by mypy
    problems = []
    for message in Checker(tree, filename=checked.name, builtins=builtins).messages:
        text = str(message.message % message.message_args)
        located = checked.locate(int(message.lineno))
        source, line = located if located else (Path(checked.name), int(message.lineno))
        problems.append(LintProblem("pyflakes", source, line, text))
    return problems


def lint_scripts(project_root: Path) -> list[LintProblem]:
    """Type-check and lint every booted check's testScript; an empty list means all good."""
    _require_tools()
    suite = load_suite(project_root)
    checks = list(suite.boot_checks)
    try:
        problems = check_rules(project_root, checks)
        scripts = [check_script(project_root, check) for check in checks]
        typed = [
            with_driver_model(project_root, check.nodes, script)
            for check, script in zip(checks, scripts, strict=True)
        ]
        problems += _run_mypy(project_root, typed)
    except OSError as exc:
        raise BadInput(f"cannot read a VM test script or the driver model: {exc}") from exc
    for check, script in zip(checks, scripts, strict=True):
        problems += _run_pyflakes(script, set(DRIVER_SYMBOLS) | set(check.nodes))
    return _unique(problems)


def _unique(problems: list[LintProblem]) -> list[LintProblem]:
    seen: set[LintProblem] = set()
    result = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result


def summary(project_root: Path, problems: list[LintProblem]) -> str:
    """The closing line of a lint run."""
    if problems:
        return f"lint-scripts: {len(problems)} problem(s)"
    count = len(load_suite(project_root).boot_checks)
    return (
        f"lint-scripts: {count} test scripts pass mypy, pyflakes and the rules,"
        " each within its check's globalTimeout"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m vmtest.scriptlint [ROOT]`: print the problems; exit 1 if any."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path.cwd()
    try:
        problems = lint_scripts(root)
    except (EnvironmentNotReady, BadInput) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)
    for problem in problems:
        print(problem.render())
    print(summary(root, problems), file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0
