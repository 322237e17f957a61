"""Offline type check and lint of the VM test scripts, the way nixpkgs does it in the build.

nixpkgs (nixos/lib/testing/driver.nix) composes testScriptWithTypes, the prepend, one
line per node and the testScript, and since nixpkgs 26.05 checks it with ty and ruff
(before: mypy and pyflakes). Here the driver is not installed, so the texts come from
`vmtest.scriptlint.compose`: each booted check's testScript exactly as
tests/e2e/suite.nix builds it (generated line, tests/e2e/script-header.py, the script)
behind the driver model and that check's node lines; `vmtest.scriptlint.tools` runs ty,
ruff and mypy on them. mypy stays: ty accepts what mypy rejects, e.g. a script that
rebinds a name of the header to another type (`Expected = "x"`), and the drivers before
26.05 checked with mypy. Plus the suite's own rules, the boot-before-timed-waits rule
and the timeout budget (`vmtest.scriptlint.rules`). Line numbers are mapped back to
each file's own lines.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from vmtest.errors import BadInput, EnvironmentNotReady
from vmtest.scriptlint.compose import check_script, load_suite, with_driver_model
from vmtest.scriptlint.rules import LintProblem, check_rules, subtest_names
from vmtest.scriptlint.tools import TOOLS, composed_files, located
from vmtest.text import os_reason

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


def _require_tools() -> None:
    for module in TOOLS:
        if importlib.util.find_spec(module) is None:
            raise EnvironmentNotReady(
                f"{module} is not installed for {sys.executable}",
                hint="run `make venv` (the dev extras include ty, ruff and mypy)",
            )


def lint_scripts(project_root: Path) -> list[LintProblem]:
    """Type-check and lint every booted check's testScript; an empty list means all good."""
    _require_tools()
    suite = load_suite(project_root)
    checks = list(suite.boot_checks)
    try:
        problems = check_rules(project_root, checks)
        composed = [
            with_driver_model(project_root, check.nodes, check_script(project_root, check))
            for check in checks
        ]
        with composed_files(project_root, composed) as workdir:
            names = [checked.name for checked in composed]
            for tool, runner in TOOLS.items():
                problems += located(tool, runner(workdir, names), composed)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        reason = os_reason(exc)
        raise BadInput(
            f"cannot read a VM test script or the driver model: {where}{reason}"
        ) from exc
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
        f"lint-scripts: {count} test scripts pass ty, ruff, mypy and the rules,"
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
