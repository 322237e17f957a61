"""Live progress: a rich status line on a terminal, plain lines otherwise.

Both write to stderr (stdout is for results and `--json`). The runner calls
`phase()` for its own steps and `event()` for each parsed log event; the plain
display prints only what a CI log reader needs (one line per started and
finished derivation, subtest results, failures), never the raw nix log.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import IO, Protocol

from vmtest.nix.logevents import (
    BuildFailed,
    BuildStarted,
    BuildStopped,
    Event,
    Progress,
    ProgressChanged,
    SubtestFinished,
    SubtestStarted,
    VmBooted,
    VmStarting,
)


class Display(Protocol):
    def phase(self, text: str) -> None: ...
    def event(self, event: Event, progress: Progress, own: str | None = None) -> None:
        """`own`: the counts of the checks the event's derivation belongs to."""

    def close(self) -> None: ...


def short(drv_path: str) -> str:
    """`/nix/store/<hash>-name.drv` -> `name`."""
    base = drv_path.rsplit("/", 1)[-1].removesuffix(".drv")
    return base.split("-", 1)[1] if "-" in base else base


def describe(event: Event) -> str | None:
    """One human line for an event worth a line of its own, else None."""
    if isinstance(event, BuildStarted):
        return f"building {short(event.drv_path)}"
    if isinstance(event, BuildStopped):
        return f"finished {short(event.drv_path)}"
    if isinstance(event, BuildFailed):
        f = event.failure
        how = (
            f"exit code {f.exit_code}"
            if f.exit_code is not None
            else f"signal {f.signal}"
            if f.signal is not None
            else "Nix did not say why; see its log"
        )
        return f"FAILED {short(f.drv_path)} ({how})"
    if isinstance(event, SubtestStarted):
        return f"  subtest: {event.name}"
    if isinstance(event, SubtestFinished):
        took = f" in {event.duration:.1f} s" if event.duration is not None else ""
        verdict = "passed" if event.passed else f"FAILED: {event.message or ''}"
        return f"  subtest {event.name!r} {verdict}{took}"
    if isinstance(event, VmStarting):
        return f"  {event.machine}: starting VM"
    if isinstance(event, VmBooted):
        if event.duration is None:
            return f"  {event.machine}: shell connected"
        return f"  {event.machine}: shell connected {event.duration:.1f} s after VM start"
    return None


def counts(progress: Progress) -> str:
    """`N of M derivations built`, and the copies from caches when there are any (the
    full tier spends much of a cold CI run fetching the system closure)."""
    parts = []
    if progress.builds_expected:
        parts.append(f"{progress.builds_done} of {progress.builds_expected} derivations built")
    if progress.builds_failed:
        parts.append(f"{progress.builds_failed} failed")
    if progress.copies_expected:
        parts.append(f"{progress.copies_done} of {progress.copies_expected} paths fetched")
    return ", ".join(parts)


class PlainDisplay:
    """Timestamped lines, for CI logs and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()

    def _print(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=self.stream, flush=True)

    def phase(self, text: str) -> None:
        self._print(text)

    def event(self, event: Event, progress: Progress, own: str | None = None) -> None:
        line = describe(event)
        if line is None:
            return
        if isinstance(event, (BuildStopped, BuildFailed)) and (n := own or counts(progress)):
            line = f"{line} ({n})"
        self._print(line)

    def close(self) -> None:
        pass


class RichDisplay:
    """A spinner with the current activity and N of M derivations; notable lines above it."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.status import Status

        # Text from nix is not markup: it may hold "[...]" (a closing "[/...]" would raise).
        self._escape = escape
        self.console = Console(stderr=True)
        self.status: Status = self.console.status("starting", spinner="dots")
        self.status.start()
        self.current = "starting"

    def phase(self, text: str) -> None:
        self.current = self._escape(text)
        self.console.print(text, style="bold", highlight=False, markup=False)
        self.status.update(self.current)

    def event(self, event: Event, progress: Progress, own: str | None = None) -> None:
        if isinstance(event, BuildStarted):
            self.current = f"building {self._escape(short(event.drv_path))}"
        line = describe(event)
        if line is not None and not isinstance(event, (BuildStarted, BuildStopped)):
            style = "red" if "FAILED" in line else "dim"
            self.console.print(line, style=style, highlight=False, markup=False)
        if isinstance(event, (BuildStarted, BuildStopped, ProgressChanged)):
            n = own or counts(progress)
            self.status.update(f"{self.current}  [dim]{n}[/dim]" if n else self.current)

    def close(self) -> None:
        self.status.stop()


class LogStream:
    """`-L`: every build log line on stderr as `<check>> <line>`; inside GitHub Actions
    each check's lines are folded in a `::group::` of their own (`report.github.LogGroups`:
    never interleaved, so a check's lines may wait until the open group ends)."""

    def __init__(self, stream: IO[str] | None = None, env: Mapping[str, str] | None = None) -> None:
        from vmtest.report.github import LogGroups, in_github_actions

        self.stream = stream or sys.stderr
        folding = in_github_actions(os.environ if env is None else env)
        self.groups = LogGroups(self._write) if folding else None

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def line(self, check: str, text: str) -> None:
        if self.groups is not None:
            self.groups.line(check, text)
        else:
            self._write(f"{check}> {text}")

    def end(self, check: str) -> None:
        """`check`'s build is over (its folded lines need not wait for the others)."""
        if self.groups is not None:
            self.groups.end(check)

    def close(self) -> None:
        if self.groups is not None:
            self.groups.close()


def make_display(interactive: bool | None = None) -> Display:
    """Rich on a terminal (stderr is a TTY), plain lines otherwise."""
    if interactive is None:
        interactive = sys.stderr.isatty()
    return RichDisplay() if interactive else PlainDisplay()
