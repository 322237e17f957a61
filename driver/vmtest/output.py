"""What the commands print and write: tables, findings, report files, GitHub output.

Rendering is `vmtest.report`'s and `vmtest.github`'s; this module decides where
each piece goes. stdout carries results (or only JSON with `--json`); progress,
hints and GitHub workflow commands under `--json` go to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vmtest import doctor as doc
from vmtest.errors import BadInput, ExitCode
from vmtest.manifest import Manifest
from vmtest.results import CheckResult, RunReport, Status, parse_report

if TYPE_CHECKING:
    from rich.console import Console

_EXIT = {
    Status.PASSED: ExitCode.PASSED,
    Status.SKIPPED: ExitCode.PASSED,
    Status.TIMED_OUT: ExitCode.TIMED_OUT,
    Status.INTERRUPTED: ExitCode.INTERRUPTED,
}


def exit_code(report: RunReport) -> int:
    """0 passed, 4 timed out, 130 interrupted, 1 anything else (failed, eval error, not run)."""
    return int(_EXIT.get(report.status, ExitCode.CHECK_FAILED))


def ensure_writable(paths: list[Path]) -> None:
    """Fail before running anything if a report could not be written (exit 2)."""
    for path in paths:
        parent = path.parent if str(path.parent) else Path()
        if path.is_dir():
            raise BadInput(f"cannot write report {path}: it is a directory")
        if not parent.is_dir():
            raise BadInput(f"cannot write report {path}: directory {parent} does not exist")
        target = path if path.exists() else parent
        if not os.access(target, os.W_OK):
            raise BadInput(f"cannot write report {path}: permission denied")


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror}") from exc


def publish(
    report: RunReport,
    *,
    json_out: bool,
    junit: Path | None,
    report_path: Path | None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Print the summary (or the JSON), GitHub outputs, then write the report files.

    Printing comes first so a report file that cannot be written (exit 2) never hides
    the result; both files are attempted before the first write error is raised."""
    from vmtest.report import render_json, render_junit

    env = os.environ if env is None else env
    if json_out:
        sys.stdout.write(render_json(report))
        sys.stdout.flush()
    else:
        _print_summary(report)
    _github(report, env, sys.stderr if json_out else sys.stdout)
    errors: list[BadInput] = []
    for path, render in ((report_path, render_json), (junit, render_junit)):
        if path is not None:
            try:
                write_text(path, render(report))
            except BadInput as exc:
                errors.append(exc)
    if errors:
        raise errors[0]


def _github(report: RunReport, env: Mapping[str, str], stream: TextIO) -> None:
    """Inside GitHub Actions: the step summary and `::error` annotations."""
    from vmtest import github
    from vmtest.report import render_markdown

    if not github.in_github_actions(env):
        return
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
    for line in github.error_annotations(report, workspace, _flake_dir(report.flake)):
        print(line, file=stream, flush=True)
    try:
        github.append_step_summary(render_markdown(report), env)
    except OSError as exc:
        print(f"warning: cannot write the step summary: {exc}", file=sys.stderr)


def _flake_dir(flake: str) -> Path | None:
    """The local directory of a path-like flake reference, for mapping error positions."""
    ref = flake.removeprefix("path:").removeprefix("git+file://").split("?", 1)[0]
    if ref.startswith(("/", ".")) or not (":" in ref or "#" in ref):
        path = Path(ref)
        return path if path.is_dir() else None
    return None


def _console() -> Console:
    """stdout console; wide when not a terminal so CI logs keep tables readable."""
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=True, width=160)
    return out


def _print_summary(report: RunReport) -> None:
    """The table and the failures, passed checks' details and outputs, then what to do."""
    from vmtest.report import render_console
    from vmtest.summary import next_step

    console = _console()
    console.print(render_console(report))
    for check in report.checks:
        if check.status is Status.PASSED:
            _print_passed_details(console, check)
    for check in report.checks:
        if check.artifacts and check.status is Status.PASSED:
            for path in check.artifacts:
                console.print(f"{check.name}: {path}", markup=False)
    step = next_step(report)
    if step is not None:
        console.print(f"\n{step}", markup=False)


def _print_passed_details(console: Console, check: CheckResult) -> None:
    """A passed quick check still prints its summary line and its warnings."""
    from vmtest.findings import findings_lines, parse_summary
    from vmtest.outcome import output_text

    text = output_text(check.artifacts)
    summary = next(
        (line for line in (text or "").splitlines() if line.startswith("vm-analysis:")), None
    )
    if text and parse_summary(text) and summary:
        console.print(summary, markup=False)
    for line in findings_lines(check.findings):
        console.print(line, markup=False)


def print_checks(manifest: Manifest, system: str, json_out: bool) -> None:
    if json_out:
        print(manifest.model_dump_json(indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"checks ({system})", title_justify="left")
    for col in ("name", "tier", "systems", "kvm", "timeout", "subtests", "description"):
        table.add_column(col)
    for c in manifest.checks:
        mark = "" if system in c.systems else " (other system)"
        table.add_row(
            c.name + mark,
            c.tier,
            ", ".join(c.systems),
            "yes" if c.requiresKvm else "no",
            f"{c.timeoutSeconds}s",
            str(len(c.subtests)),
            Text(c.description),  # the flake's own words, not rich markup
        )
    _console().print(table)


def print_doctor(items: list[doc.Item], json_out: bool) -> None:
    if json_out:
        print(doc.to_json(items))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="vmtest doctor", title_justify="left")
    for col in ("", "item", "value", "needed for"):
        table.add_column(col)
    for i in items:
        mark = Text("ok", style="green") if i.ok else Text("MISSING", style="red")
        table.add_row(mark, i.name, Text(i.value), i.needed_for or "-")  # value: nix's words
    console = _console()
    console.print(table)
    for i in items:
        if not i.ok and i.fix:
            console.print(f"{i.name}: {i.fix}", markup=False)
    blockers = doc.full_tier_blockers(items)
    if blockers:
        names = ", ".join(i.name for i in blockers)
        console.print(f"not ready for the full tier: missing {names}", markup=False)
    else:
        console.print("ready for the quick and the full tier", markup=False)


def convert_report(source: Path, junit: Path | None, markdown: Path | None) -> None:
    """`vmtest report`: JSON report -> JUnit / Markdown files, else a console summary."""
    from vmtest.report import render_junit, render_markdown

    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {exc.strerror}") from exc
    report = parse_report(text, source=str(source))
    ensure_writable([p for p in (junit, markdown) if p is not None and str(p) != "-"])
    if junit is not None:
        write_text(junit, render_junit(report))
    if markdown is not None:
        md = render_markdown(report)
        sys.stdout.write(md) if str(markdown) == "-" else write_text(markdown, md)
    if junit is None and markdown is None:
        _print_summary(report)
