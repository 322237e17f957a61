"""Pure renderers of a run report: JSON, JUnit XML, Markdown (GitHub step summary), console.

Every function takes a `RunReport` and returns text (or a rich renderable);
writing files is the caller's job. Failures come first everywhere; log tails
are cut to their last lines with a note saying so; ANSI escapes and characters
XML 1.0 cannot carry are removed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from vmtest.report.findings import findings_lines, outside_findings
from vmtest.report.model import CheckResult, RunReport, Status, SubtestResult, status_rank
from vmtest.report.phrases import (
    DEFAULT_TAIL_LINES,
    clean_text,
    cut_tail,
    failure_facts,
    format_seconds,
    headline,
    ordered_checks,
    subtest_counts,
    subtest_line,
)
from vmtest.text import plural

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
    from rich.table import Table

# ------------------------------------------------------------------------ JSON


def render_json(report: RunReport) -> str:
    """The report as JSON with sorted keys (what `--json` prints and `--report` writes)."""
    data = report.model_dump(mode="json", by_alias=True)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------- JUnit

_JUNIT_KIND = {
    Status.FAILED: "failure",
    Status.EVAL_ERROR: "error",
    Status.TIMED_OUT: "error",
    Status.INTERRUPTED: "error",
    Status.NOT_RUN: "skipped",
    Status.SKIPPED: "skipped",
}


def render_junit(report: RunReport, tail_lines: int = DEFAULT_TAIL_LINES) -> str:
    """JUnit XML: a testsuite per check, a testcase per subtest (or one for the check)."""
    root = ET.Element("testsuites", name="vmtest", time=_secs(report.duration))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for check in ordered_checks(report):
        suite = _junit_suite(check, tail_lines)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _junit_suite(check: CheckResult, tail_lines: int) -> ET.Element:
    cases = _junit_cases(check)
    suite = ET.Element("testsuite", name=clean_text(check.name), time=_secs(check.duration))
    # <properties> comes before the test cases in the Ant/Jenkins JUnit schema.
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="attr", value=check.attr)
    counts = {"failure": 0, "error": 0, "skipped": 0}
    for case_name, status, duration, message in cases:
        case = ET.SubElement(
            suite, "testcase", classname=clean_text(check.name), name=clean_text(case_name)
        )
        case.set("time", _secs(duration))
        kind = _JUNIT_KIND.get(status)
        if kind is None:
            continue
        counts[kind] += 1
        detail = ET.SubElement(case, kind, message=clean_text(message or status.value))
        if kind != "skipped":
            detail.set("type", status.value)
            detail.text = _failure_body(check, message, tail_lines)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["skipped"]))
    return suite


def _junit_cases(check: CheckResult) -> list[tuple[str, Status, float | None, str | None]]:
    """(name, status, seconds, message) per testcase, failures first."""
    subtests: list[SubtestResult] = sorted(check.subtests, key=lambda s: status_rank(s.status))
    cases = [(s.name, s.status, s.duration, s.message) for s in subtests]
    check_message = check.failure.message if check.failure else None
    failed_sub = any(s.status is not Status.PASSED for s in subtests)
    if not cases or (check.status is not Status.PASSED and not failed_sub):
        # No subtests, or the check failed outside them (build, boot, timeout).
        cases.insert(0, (check.name, check.status, check.duration, check_message))
    return cases


def _failure_body(check: CheckResult, message: str | None, tail_lines: int) -> str:
    facts = failure_facts(check)
    parts = [clean_text(message)] if message else []
    if facts.drv_path:
        code = f" (exit code {facts.exit_code})" if facts.exit_code is not None else ""
        parts.append(f"{facts.drv_label}: {facts.drv_path}{code}")
    if facts.position:
        parts.append(f"at {facts.position}")
    if facts.log_tail:
        parts.append("log tail:\n" + "\n".join(cut_tail(facts.log_tail, tail_lines)))
    return clean_text("\n".join(parts))


def _secs(seconds: float | None) -> str:
    return f"{seconds or 0.0:.3f}"


# -------------------------------------------------------------------- Markdown

_ICON = {Status.PASSED: "✅", Status.SKIPPED: "⏭️", Status.NOT_RUN: "⏭️"}


def render_markdown(report: RunReport, tail_lines: int = 30) -> str:
    """GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY`: a table, then the failures."""
    out = [
        f"## {headline(report)}",
        "",
        f"`{_md_cell(report.flake)}` on `{report.system}`, {plural(len(report.checks), 'check')}, "
        f"{format_seconds(report.duration)}" + (" (interrupted)" if report.interrupted else ""),
        "",
        "| Check | Status | Total | Evaluate | Build | Boot | Script | Subtests |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in ordered_checks(report):
        p = c.phases
        times = [c.duration, p.evaluate, p.build, p.boot, p.script]
        out.append(
            f"| {_md_cell(c.name)} | {_ICON.get(c.status, '❌')} "
            f"{'cached' if c.cached else c.status.value} | "
            + " | ".join(format_seconds(t) for t in times)
            + f" | {subtest_counts(c)} |"
        )
    failing = [c for c in ordered_checks(report) if _explained(c)]
    if failing:
        out += ["", "### Failures"]
        for check in failing:
            out += ["", *_md_failure(check, tail_lines)]
    warned = [(c, f) for c in report.checks if c.status in _ICON for f in c.findings]
    if warned:  # a passed check's findings are warnings (errors fail it)
        out += ["", "### Warnings", ""]
        out += [
            f"- {_md_cell(c.name)}: {_md_cell(f.message)} (`{f.option}`; fix: {_md_cell(f.fix)})"
            for c, f in warned
        ]
    return "\n".join(out) + "\n"


def _md_failure(check: CheckResult, tail_lines: int) -> list[str]:
    out = [f"#### {_md_cell(check.name)}: {check.status.value}", ""]
    facts = failure_facts(check)
    if facts.message is not None:
        out.append(f"- {_md_cell(facts.message)}")
    if facts.drv_path:
        out.append(f"- {facts.drv_label}: `{facts.drv_path}`")
    if facts.position:
        out.append(f"- at `{facts.position}`")
    out += [f"- {_md_cell(subtest_line(s, f'**{s.name}**'))}" for s in facts.subtests]
    for f in facts.findings:
        where = f" ({f.config})" if f.config else ""
        out.append(f"- {f.severity}{where}: {_md_cell(f.message)} (`{f.option}`; fix: {f.fix})")
    if len(out) == 2:
        out.append(f"- {check.status.value}; the log told nothing more (attribute `{check.attr}`)")
    if facts.log_tail:
        tail = "\n".join(cut_tail(facts.log_tail, tail_lines))
        fence = "`" * max(3, _longest_backtick_run(tail) + 1)
        out += [
            "",
            f"<details><summary>Log tail (last {tail_lines} lines at most)</summary>",
            "",
            f"{fence}text",
            tail,
            fence,
            "",
            "</details>",
        ]
    return out


def _md_cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


# --------------------------------------------------------------------- console


def render_console(report: RunReport, tail_lines: int = 20) -> RenderableType:
    """A rich summary table plus a failure section (rich is imported only here)."""
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = [_Summary(report) if report.checks else Text(headline(report))]
    for check in ordered_checks(report):
        if _explained(check):
            parts.append(Text("\n".join(_console_failure(check, tail_lines))))
    return Group(*parts)


def _explained(check: CheckResult) -> bool:
    """True for a check whose section says why: it did not pass, or did not run for a
    reason given (e.g. no usable KVM on this machine)."""
    return check.status not in _ICON or (
        check.status is Status.NOT_RUN and check.failure is not None
    )


#: Phase columns, and the order they are left out in when the table does not fit:
#: check names, statuses, totals and subtest counts always stay.
_PHASES = ("eval", "build", "boot", "script")
_DROP_ORDER = ("eval", "boot", "script", "build")


class _Summary:
    """The summary table, laid out for the width it is printed at: figures are never cut,
    check names never broken; phase columns go (least telling first) until it fits."""

    def __init__(self, report: RunReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.measure import Measurement

        phases = list(_PHASES)
        table = self._table(phases)
        unbounded = options.update_width(10_000)  # a measure is capped at the width asked
        for name in _DROP_ORDER:
            if Measurement.get(console, unbounded, table).minimum <= options.max_width:
                break
            phases.remove(name)
            table = self._table(phases)
        left_out = [p for p in _PHASES if p not in phases]
        if left_out:
            width = options.max_width
            table.caption = f"{', '.join(left_out)} times left out to fit {width} columns"
        yield table

    def _table(self, phases: list[str]) -> Table:
        from rich.cells import cell_len
        from rich.table import Table
        from rich.text import Text

        rows = [self._row(c, phases) for c in ordered_checks(self.report)]
        table = Table(title=headline(self.report), title_justify="left", caption_justify="left")
        headers = ["check", "status", "total", *phases, "tests"]
        for i, header in enumerate(headers):
            # Sized to the longest cell: a figure cut to `11m…` tells nothing.
            width = max(cell_len(header), *(cell_len(row[i]) for row in rows))
            justify: JustifyMethod = "left" if i < 2 else "right"
            table.add_column(header, justify=justify, no_wrap=True, min_width=width)
        for c, row in zip(ordered_checks(self.report), rows, strict=True):
            # Text, not str: a name read back from a report file is shown as written.
            table.add_row(Text(row[0]), Text(row[1], style=_status_style(c.status)), *row[2:])
        return table

    @staticmethod
    def _row(c: CheckResult, phases: list[str]) -> list[str]:
        p = c.phases
        times = {"eval": p.evaluate, "build": p.build, "boot": p.boot, "script": p.script}
        status = "cached" if c.cached else c.status.value  # passed: built before this run
        figures = [format_seconds(t) for t in (c.duration, *(times[n] for n in phases))]
        return [c.name, status, *figures, subtest_counts(c)]


def _status_style(status: Status) -> str:
    return "green" if status is Status.PASSED else "yellow" if status in _ICON else "red"


def _console_failure(check: CheckResult, tail_lines: int) -> list[str]:
    out = ["", f"{check.name}: {check.status.value}"]
    facts = failure_facts(check)
    if facts.message is not None:
        out.append(f"  {facts.message}")
    if facts.drv_path:
        out.append(f"  {facts.drv_label}: {facts.drv_path}")
    if facts.position:
        out.append(f"  at {facts.position}")
    out += [f"  {subtest_line(s, repr(s.name))}" for s in facts.subtests]
    out += findings_lines(facts.findings)  # unindented: the spec's own wording
    tail = outside_findings(facts.log_tail) if facts.findings else facts.log_tail
    if any(line.strip() for line in tail):
        out.append("  log tail:")
        out += [f"    {line}" for line in cut_tail(tail, tail_lines)]
    for path in check.artifacts:
        out.append(f"  artifact: {path}")
    return out
