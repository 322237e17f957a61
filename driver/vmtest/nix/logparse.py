"""Streaming parser of `nix build --log-format internal-json -v` stderr.

Feed it one line at a time (`LogParser.feed`); it returns the events a live
display cares about and keeps a small, bounded state: build progress, the last
lines of each derivation's log, build failures, evaluation errors and the
NixOS test driver's subtest / boot / script marks. Memory stays flat however
long the log is: tails are `deque`s with a maximum length, long lines are cut,
and only the most recent derivations are remembered (failed ones are kept first).

Wire format (Nix 2.8, recorded here in tests/driver/fixtures/logs/; Nix 2.26 is
the same apart from the notes below, read from NixOS/nix `src/libutil/logging.cc`
and `src/libutil/logging.hh`): each line is either plain text or
`@nix {json}` with `action` one of

- `start`: `id`, `type` (activity type), `text`, `level`, `fields`; for a build
  (type 105) `fields[0]` is the .drv path. 2.26 adds `parent`.
- `stop`: `id`.
- `result`: `id`, `type` (result type), `fields`: 101 build log line `[line]`,
  104 set phase `[phase]`, 105 progress `[done, expected, running, failed]`,
  106 set expected `[activityType, count]`, 107 post-build-hook log line.
- `msg`: `level`, `msg` (formatted, with ANSI colours); for errors also
  `raw_msg` and `file`/`line`/`column` (null when there is no position). 2.26
  may add a `trace` list and writes `file` for flake sources either as a store
  path (`/nix/store/<hash>-source/x.nix`) or as `«<input>»/x.nix`.

Build failures: "builder for '<drv>' failed with exit code N" (2.8 and 2.26);
newer Nix also words it "Cannot build '<drv>'. Reason: builder failed with exit
code N"; a build killed by a signal says "failed due to signal N".

Error messages are read by `vmtest.nix.logerrors`, the NixOS test driver's lines by
`vmtest.nix.driverlog`.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from vmtest.nix import driverlog
from vmtest.nix.logerrors import ErrorLog
from vmtest.nix.logevents import (
    DEFAULT_MAX_DERIVATIONS,
    DEFAULT_TAIL_LINES,
    MAX_LINE_CHARS,
    BuildFailure,
    BuildStarted,
    BuildStopped,
    DerivationState,
    EvalError,
    Event,
    LogLine,
    NixMessage,
    Progress,
    ProgressChanged,
    cut,
)
from vmtest.text import strip_ansi

__all__ = [
    "BuildFailure",
    "DerivationState",
    "EvalError",
    "Event",
    "LogParser",
    "Progress",
    "strip_ansi",
]

_DECODER = json.JSONDecoder()

# Activity types (Nix logging.hh).
ACT_COPY_PATHS = 103
ACT_BUILDS = 104
ACT_BUILD = 105
# Result types (Nix logging.hh).
RES_BUILD_LOG_LINE = 101
RES_SET_PHASE = 104
RES_PROGRESS = 105
RES_SET_EXPECTED = 106
RES_POST_BUILD_LOG_LINE = 107

# ---------------------------------------------------------------------- parser


class LogParser:
    """Incremental, bounded-memory reader of Nix's internal-json log.

    `clock` (seconds, monotonic) timestamps build start/stop and driver marks;
    pass a fake clock in tests. Durations the driver prints are preferred over
    the clock.
    """

    def __init__(
        self,
        tail_lines: int = DEFAULT_TAIL_LINES,
        max_derivations: int = DEFAULT_MAX_DERIVATIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tail_lines = tail_lines
        self.max_derivations = max_derivations
        self.clock = clock
        self.progress = Progress()
        self._errors = ErrorLog(self._mark_failed)
        self._drvs: OrderedDict[str, DerivationState] = OrderedDict()
        self._acts: dict[int, tuple[int, str | None]] = {}
        self._texts: OrderedDict[int, str] = OrderedDict()
        self.lines_seen = 0

    # -- queries

    @property
    def failures(self) -> list[BuildFailure]:
        """Build failures in the order Nix reported them (at most MAX_ERRORS)."""
        return list(self._errors.failures)

    @property
    def eval_errors(self) -> list[EvalError]:
        """Errors that are not build failures (at most MAX_ERRORS)."""
        return list(self._errors.eval_errors)

    def derivation(self, drv_path: str) -> DerivationState | None:
        """What is known about `drv_path`, or None if it was never seen (or forgotten)."""
        return self._drvs.get(drv_path)

    def derivations(self) -> list[DerivationState]:
        """Remembered derivations, oldest first."""
        return list(self._drvs.values())

    def log_tail(self, drv_path: str) -> list[str]:
        """The last `tail_lines` log lines of `drv_path` (empty if unknown)."""
        state = self._drvs.get(drv_path)
        return list(state.tail) if state else []

    # -- input

    def feed_lines(self, lines: Iterable[str | bytes]) -> list[Event]:
        """Feed many lines and `close()`; returns every event (for tests and replay)."""
        events: list[Event] = []
        for line in lines:
            events.extend(self.feed(line))
        events.extend(self.close())
        return events

    def feed(self, raw: str | bytes) -> list[Event]:
        """Parse one stderr line (with or without its newline)."""
        self.lines_seen += 1
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        line = line.rstrip("\r\n")
        if not line.startswith("@nix {"):
            return self._errors.plain(line)
        try:
            obj, _ = _DECODER.raw_decode(line, 5)
        except ValueError:
            return self._errors.plain(line)
        action = obj.get("action")
        if action == "result":
            events = self._on_result(obj)
        elif action == "start":
            events = self._on_start(obj)
        elif action == "stop":
            events = self._on_stop(obj)
        elif action == "msg":
            events = self._errors.message(obj)
        else:
            events = []
        if self._errors.block:  # a plain-text error block ended before this line
            return [*self._errors.flush(), *events]
        return events

    def close(self) -> list[Event]:
        """End of input: report a pending plain-text error block."""
        return self._errors.flush()

    # -- actions

    def _on_start(self, obj: dict[str, Any]) -> list[Event]:
        act_id, act_type = _int(obj.get("id")), _int(obj.get("type"))
        fields = obj.get("fields") or []
        drv = fields[0] if act_type == ACT_BUILD and fields and isinstance(fields[0], str) else None
        if len(self._acts) >= 10 * self.max_derivations:  # stops lost: forget the oldest
            self._acts.pop(next(iter(self._acts)))
        self._acts[act_id] = (act_type, drv)
        text = strip_ansi(str(obj.get("text") or ""))
        if text:
            self._texts[act_id] = cut(text, 200)
            while len(self._texts) > self.max_derivations:
                self._texts.popitem(last=False)
            self.progress.activity = text
        if drv is None:
            return []
        state = self._state(drv)
        state.started_at = self.clock()
        return [BuildStarted(drv)]

    def _on_stop(self, obj: dict[str, Any]) -> list[Event]:
        act_id = _int(obj.get("id"))
        _, drv = self._acts.pop(act_id, (0, None))
        if self._texts.pop(act_id, None) is not None:
            self.progress.activity = next(reversed(self._texts.values()), "")
        if drv is None:
            return []
        state = self._drvs.get(drv)
        if state is not None:
            state.stopped_at = self.clock()
        return [BuildStopped(drv)]

    def _on_result(self, obj: dict[str, Any]) -> list[Event]:
        rtype = obj.get("type")
        fields = obj.get("fields") or []
        ident = obj.get("id")
        act_type, drv = (self._acts.get(ident) if type(ident) is int else None) or (0, None)
        if rtype in (RES_BUILD_LOG_LINE, RES_POST_BUILD_LOG_LINE) and fields:
            line = fields[0]
            return self._on_log_line(drv, line if type(line) is str else str(line))
        if rtype == RES_PROGRESS and len(fields) >= 4:
            return self._on_progress(act_type, [_int(f) for f in fields[:4]])
        if rtype == RES_SET_EXPECTED and len(fields) >= 2:
            if _int(fields[0]) == ACT_BUILD:
                self.progress.builds_expected = max(self.progress.builds_expected, _int(fields[1]))
            return []
        if rtype == RES_SET_PHASE and fields and drv is not None:
            self._state(drv).phase = str(fields[0])
        return []

    def _on_progress(self, act_type: int, counts: list[int]) -> list[Event]:
        done, expected, _running, failed = counts
        p = self.progress
        if act_type == ACT_BUILDS:
            p.builds_done, p.builds_expected, p.builds_failed = done, expected, failed
        elif act_type == ACT_COPY_PATHS:
            p.copies_done, p.copies_expected = done, expected
        else:
            return []
        return [ProgressChanged(Progress(**vars(p)))]

    def _on_log_line(self, drv: str | None, raw: str) -> list[Event]:
        line = strip_ansi(raw) if "\x1b" in raw or "\r" in raw else raw
        if len(line) > MAX_LINE_CHARS:
            line = cut(line)
        if drv is None:
            return [NixMessage(3, line)]
        state = self._state(drv)
        state.tail.append(line)
        if driverlog.maybe_driver_line(line):
            return [LogLine(drv, line), *driverlog.apply(state, line, self.clock)]
        return [LogLine(drv, line)]

    # -- bounded per-derivation state

    def _mark_failed(self, failure: BuildFailure) -> None:
        self._state(failure.drv_path).failure = failure

    def _state(self, drv: str) -> DerivationState:
        state = self._drvs.get(drv)
        if state is not None:
            return state
        if len(self._drvs) >= self.max_derivations:
            self._evict()
        state = DerivationState(drv, deque(maxlen=self.tail_lines))
        self._drvs[drv] = state
        return state

    def _evict(self) -> None:
        for key, old in self._drvs.items():
            if old.failure is None and old.stopped_at is not None:
                del self._drvs[key]
                return
        self._drvs.popitem(last=False)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
