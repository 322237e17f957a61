"""What the commands print and write: tables, findings, report files, GitHub output.

Rendering is `vmtest.report.render`'s and `vmtest.report.github`'s; this module decides where
each piece goes. stdout carries results (or only JSON with `--json`); progress,
hints and GitHub workflow commands under `--json` go to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vmtest import doctor as doc
from vmtest.checks.manifest import Manifest
from vmtest.errors import BadInput, ExitCode
from vmtest.report.model import CheckResult, RunReport, Status, parse_report
from vmtest.report.targets import (
    STDOUT,
    ensure_writable,
    to_stdout,
    write_text,
)
from vmtest.text import os_reason, plural

if TYPE_CHECKING:
    from rich.console import Console

    from vmtest.checks.decide import CheckRun

_EXIT = {
    Status.PASSED: ExitCode.PASSED,
    Status.SKIPPED: ExitCode.PASSED,
    Status.TIMED_OUT: ExitCode.TIMED_OUT,
    Status.INTERRUPTED: ExitCode.INTERRUPTED,
    # Worst is "not run": nothing failed, but this machine could not run a check.
    Status.NOT_RUN: ExitCode.ENVIRONMENT,
}


def exit_code(report: RunReport) -> int:
    """The run's worst status as an exit code: 0 passed, 3 a check could not run here (and
    none failed), 4 timed out, 130 interrupted, 1 anything else (failed, eval error)."""
    return int(_EXIT.get(report.status, ExitCode.CHECK_FAILED))


def publish(
    report: RunReport,
    *,
    json_out: bool,
    junit: Path | None,
    report_path: Path | None,
    env: Mapping[str, str] | None = None,
    console: bool = True,
) -> None:
    """Print the summary (or the report that goes to stdout), GitHub outputs, then write
    the report files.

    Printing comes first so a report file that cannot be written (exit 2) never hides
    the result; both files are attempted before the first write error is raised.
    `console=False` (a run stopped by an error, which prints its own line) skips the
    summary table, not a report on stdout. `-` as a path is stdout (`--report -` is
    `--json`); with a report on stdout, GitHub workflow commands go to stderr."""
    from vmtest.report.render import render_json, render_junit

    env = os.environ if env is None else env
    json_out = json_out or to_stdout(report_path)
    stdout_used = json_out or to_stdout(junit)
    if json_out:
        write_text(Path(STDOUT), render_json(report))
    if to_stdout(junit):
        write_text(Path(STDOUT), render_junit(report))
    if console and not stdout_used:
        _print_summary(report)
    _github(report, env, sys.stderr if stdout_used else sys.stdout)
    errors: list[BadInput] = []
    for path, render in ((report_path, render_json), (junit, render_junit)):
        if path is not None and not to_stdout(path):
            try:
                write_text(path, render(report))
            except BadInput as exc:
                errors.append(exc)
    if errors:
        raise errors[0]


def _github(report: RunReport, env: Mapping[str, str], stream: TextIO) -> None:
    """Inside GitHub Actions: the step summary, `::error` and `::warning` annotations."""
    from vmtest.report import github
    from vmtest.report.render import render_markdown

    if not github.in_github_actions(env):
        return
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
    annotations = github.error_annotations(report, workspace, _flake_dir(report.flake))
    for line in [*annotations, *github.warning_annotations(report)]:
        print(line, file=stream, flush=True)
    try:
        github.append_step_summary(render_markdown(report), env)
    except OSError as exc:
        where = env.get("GITHUB_STEP_SUMMARY")
        print(f"warning: cannot write the step summary {where}: {os_reason(exc)}", file=sys.stderr)


def _flake_dir(flake: str) -> Path | None:
    """The local directory of a path-like flake reference, for mapping error positions."""
    ref = flake.removeprefix("path:").removeprefix("git+file://").split("?", 1)[0]
    if ref.startswith(("/", ".")) or not (":" in ref or "#" in ref):
        path = Path(ref)
        return path if path.is_dir() else None
    return None


def _console() -> Console:
    """stdout console: the terminal's width, else $COLUMNS (rich reads it), else wide (160)
    so CI logs keep tables readable."""
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        out = Console(highlight=False, soft_wrap=True, width=160)
    return out


def _print_summary(report: RunReport) -> None:
    """The table and the failures, passed checks' details and outputs, then what to do."""
    from vmtest.report.phrases import next_step
    from vmtest.report.render import render_console

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
    from vmtest.checks.details import output_text
    from vmtest.report.findings import findings_lines, parse_summary

    text = output_text(check.artifacts)
    summary = next(
        (line for line in (text or "").splitlines() if line.startswith("vm-analysis:")), None
    )
    if text and parse_summary(text) and summary:
        console.print(summary, markup=False)
    for line in findings_lines(check.findings):
        console.print(line, markup=False)


def print_plan(runs: list[CheckRun], json_out: bool) -> None:
    """`--dry-run`: per check, built already, or what building it would build and fetch."""
    import json

    rows = [
        {
            "name": r.check.name,
            "attr": r.attr,
            "drvPath": r.drv,
            "evalError": r.eval_failure.message if r.eval_failure else None,
            "cached": r.cached,
            "toBuild": list(r.plan.to_build) if r.plan else None,
            "toFetch": list(r.plan.to_fetch) if r.plan else None,
        }
        for r in runs
    ]
    if json_out:
        print(json.dumps({"dryRun": True, "checks": rows}, indent=2, sort_keys=True))
        return
    for r in runs:
        if r.eval_failure is not None:
            print(f"{r.check.name}: does not evaluate: {r.eval_failure.message}")
        elif r.plan is None:
            print(f"{r.check.name}: {r.drv} (nix could not say what building it needs)")
        elif r.cached:
            print(f"{r.check.name}: already built (cached): {r.drv}")
        else:
            print(
                f"{r.check.name}: would build {plural(len(r.plan.to_build), 'derivation')} "
                f"and fetch {plural(len(r.plan.to_fetch), 'path')}"
            )
            for path in (*r.plan.to_build, *r.plan.to_fetch):
                print(f"  {path}")
    print("dry run: nothing was built")


def print_checks(
    manifest: Manifest, system: str, json_out: bool, unlisted: Sequence[str] = ()
) -> None:
    """One row a check; names never break, the description's first sentence wraps in the
    width left, a word too long for it folded, never cut (80 columns fit; `--json` has
    everything, systems included)."""
    if json_out:
        print(manifest.model_dump_json(indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"checks ({system})", title_justify="left", box=None, header_style="bold")
    names = [c.name + ("" if system in c.systems else " (other system)") for c in manifest.checks]
    table.add_column("name", no_wrap=True, min_width=max(map(len, names), default=4))
    for col in ("tier", "kvm", "timeout", "subtests"):
        table.add_column(col, no_wrap=True, min_width=len(col))
    table.add_column("description", min_width=16, overflow="fold")
    for name, c in zip(names, manifest.checks, strict=True):
        table.add_row(
            name,
            c.tier,
            "yes" if c.requiresKvm else "no",
            f"{c.timeoutSeconds}s",
            str(len(c.subtests)),
            Text(_first_sentence(c.description)),  # the flake's own words, not rich markup
        )
    console = _console()
    console.print(table)
    if unlisted:
        console.print(
            f"not in the manifest, so never run by vmtest: {', '.join(unlisted)}", markup=False
        )


def _first_sentence(text: str) -> str:
    head = " ".join(text.split())
    end = head.find(". ")
    return head if end < 0 else head[: end + 1]


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
        mark = (
            Text("ok", style="green")
            if i.ok
            else Text("MISSING", style="red")
            if i.checked
            else Text("NOT CHECKED", style="yellow")
        )
        table.add_row(mark, i.name, Text(i.value), i.needed_for or "-")  # value: nix's words
    console = _console()
    console.print(table)
    for i in items:
        if not i.ok and i.fix:
            console.print(f"{i.name}: {i.fix}", markup=False)
    console.print(doc.verdict(items), markup=False)


def convert_report(source: Path, junit: Path | None, markdown: Path | None) -> None:
    """`vmtest report`: JSON report -> JUnit / Markdown files, else a console summary."""
    from vmtest.report.render import render_junit, render_markdown

    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {source}: {os_reason(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"cannot read {source}: not UTF-8 text (a vmtest JSON report?)") from exc
    report = parse_report(text, source=str(source))
    if to_stdout(junit) and to_stdout(markdown):
        raise BadInput("only one of --junit and --markdown can be - (stdout)")
    targets = [p for p in (junit, markdown) if p is not None and not to_stdout(p)]
    if any(p.resolve() == source.resolve() for p in targets):
        raise BadInput(f"cannot write over {source}: it is the report being converted")
    ensure_writable(targets)
    if junit is not None:
        write_text(junit, render_junit(report))
    if markdown is not None:
        write_text(markdown, render_markdown(report))
    if junit is None and markdown is None:
        _print_summary(report)
