"""GitHub Actions output: `::error` workflow commands and the job step summary.

Escaping follows GitHub's workflow-command rules (as implemented by
actions/toolkit `command.ts`): in the message `%`, `\\r`, `\\n` become `%25`,
`%0D`, `%0A`; in property values `:` and `,` also become `%3A` and `%2C`.
Positions are only given for files inside the workspace, as paths relative to
it; Nix reports flake files as `/nix/store/<hash>-source/<path>` (or, newer
Nix, `«<input>»/<path>`), which map back to `<flake dir>/<path>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from vmtest.report.model import CheckResult, RunReport, Status
from vmtest.report.phrases import clean_text, failure_facts, subtest_line

_STORE_SOURCE = re.compile(r"^/nix/store/[0-9a-z]{32}-[^/]+/(?P<rel>.+)$")
_LAZY_SOURCE = re.compile(r"^«[^»]*»/(?P<rel>.+)$")
_OK = (Status.PASSED, Status.SKIPPED, Status.NOT_RUN)
# GitHub rejects a step summary larger than 1 MiB.
STEP_SUMMARY_LIMIT = 1024 * 1024


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (`file=`, `title=`, ...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def in_github_actions(env: Mapping[str, str]) -> bool:
    """True when running as a GitHub Actions step."""
    return env.get("GITHUB_ACTIONS") == "true"


def workspace_path(file: str, workspace: Path, flake_dir: Path | None = None) -> str | None:
    """`file` as a path relative to `workspace`, or None if it is not a workspace file."""
    workspace = workspace.resolve()
    base = (flake_dir or workspace).resolve()
    m = _STORE_SOURCE.match(file) or _LAZY_SOURCE.match(file)
    candidate = base / m["rel"] if m else Path(file)
    if not candidate.is_absolute():
        candidate = base / candidate
    try:
        relative = candidate.resolve().relative_to(workspace)
    except ValueError:
        return None
    return relative.as_posix() if (workspace / relative).is_file() else None


def error_command(
    message: str,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    level: str = "error",
) -> str:
    """One `::error ...::message` line (`level="warning"`: `::warning`); position
    properties only when `file` is given."""
    props: list[str] = []
    if file is not None:
        props.append(f"file={escape_property(file)}")
        if line is not None:
            props.append(f"line={line}")
            if col is not None:
                props.append(f"col={col}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level} " + ",".join(props) if props else f"::{level}"
    return f"{head}::{escape_data(clean_text(message))}"


def error_annotations(
    report: RunReport, workspace: Path, flake_dir: Path | None = None
) -> list[str]:
    """`::error` lines for every check that did not pass, with positions where Nix gave one."""
    return [_annotation(c, workspace, flake_dir) for c in report.checks if c.status not in _OK]


def warning_annotations(report: RunReport) -> list[str]:
    """`::warning` lines for the warning findings of every check (the quick tier's), and
    for every check that did not run for a reason given (no usable KVM, say)."""
    not_run = [
        error_command(c.failure.message, f"vmtest: {c.name} not run", level="warning")
        for c in report.checks
        if c.status is Status.NOT_RUN and c.failure is not None
    ]
    return not_run + [
        error_command(
            f"{f.message} (option {f.option}; fix: {f.fix})",
            f"vmtest: {c.name} warning ({f.id})",
            level="warning",
        )
        for c in report.checks
        for f in c.findings
        if f.severity == "warning"
    ]


def _annotation(check: CheckResult, workspace: Path, flake_dir: Path | None) -> str:
    title = f"vmtest: {check.name} {check.status.value}"
    failure = check.failure
    message = failure.message if failure else f"check {check.name} {check.status.value}"
    failed_subtests = failure_facts(check).subtests
    if failed_subtests:
        message += "\n" + subtest_line(failed_subtests[0], repr(failed_subtests[0].name))
    errors = [f for f in check.findings if f.severity == "error"]
    if errors:
        message += "\n" + "\n".join(f"- {f.message} (fix: {f.fix})" for f in errors)
    ev = failure.eval_error if failure else None
    if ev is not None and ev.file:
        rel = workspace_path(ev.file, workspace, flake_dir)
        if rel is not None:
            return error_command(message, title, rel, ev.line, ev.column)
    return error_command(message, title)


def append_step_summary(markdown: str, env: Mapping[str, str]) -> Path | None:
    """Append to `$GITHUB_STEP_SUMMARY` if set; returns the file written, else None."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    text = fit_step_summary(markdown if markdown.endswith("\n") else markdown + "\n")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
    return path


def fit_step_summary(markdown: str, limit: int = STEP_SUMMARY_LIMIT) -> str:
    """`markdown` cut (at a line end, with a note) so it fits GitHub's per-step size limit."""
    data = markdown.encode("utf-8")
    if len(data) <= limit:
        return markdown
    note = "\n\n_(summary cut to fit GitHub's step summary size limit; see the JSON report)_\n"
    head = data[: limit - len(note.encode())].decode("utf-8", "ignore")
    return head[: head.rfind("\n") + 1] + note


class LogGroups:
    """`-L` inside GitHub Actions: each check's build log lines in one `::group::` of its
    own, never interleaved (groups do not nest, and a group holds what is printed until it
    ends). The first check to print has the open group and its lines go out live; the lines
    of the others wait, and come out as one group each when the open one ends (`end`) or
    at `close`."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._live: str | None = None
        self._held: dict[str, list[str]] = {}
        self._ended: set[str] = set()

    def line(self, check: str, text: str) -> None:
        if self._live is None and not self._held:
            self._live = check
            self._write(f"::group::{check} log")
        if check == self._live:
            self._write(f"{check}> {text}")
        else:
            self._held.setdefault(check, []).append(text)

    def end(self, check: str) -> None:
        """`check` prints no more: close its group, and let the waiting checks out."""
        self._ended.add(check)
        if check == self._live:
            self._write("::endgroup::")
            self._live = None
            self._release()

    def close(self) -> None:
        """Everything ends: close the open group, then every waiting check's group."""
        self._ended.update(self._held)
        if self._live is not None:
            self.end(self._live)

    def _release(self) -> None:
        """Print the waiting checks' groups in the order they first printed; the first
        one that has not ended stays open, live."""
        while self._held and self._live is None:
            check, lines = next(iter(self._held.items()))
            del self._held[check]
            self._write(f"::group::{check} log")
            for text in lines:
                self._write(f"{check}> {text}")
            if check in self._ended:
                self._write("::endgroup::")
            else:
                self._live = check
