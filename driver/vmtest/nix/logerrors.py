"""Nix's error messages in a log: build failures apart from every other error.

`ErrorLog` reads the error messages of a Nix log (the `msg` records of the
internal-json log, and error blocks Nix printed as plain text outside its JSON
logger) and classifies them with `vmtest.nix.messages`: a builder's failure becomes a
`BuildFailure`, a summary of failures reported elsewhere or an operational message
(Ctrl-C, no builders) stays a message, anything else is an `EvalError` with its
position when Nix gave one. Both lists keep the last MAX_ERRORS, so a log full of
errors keeps memory flat.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from vmtest.nix import messages
from vmtest.nix.logevents import (
    MAX_ERRORS,
    MAX_LINE_CHARS,
    BuildFailed,
    BuildFailure,
    EvalError,
    EvalFailed,
    Event,
    NixMessage,
    cut,
)
from vmtest.text import strip_ansi

#: Lines of one plain-text error block kept (its continuation lines are indented).
MAX_BLOCK_LINES = 200


class ErrorLog:
    """Error messages of one Nix log; `on_build_failure` hears of each builder failure."""

    def __init__(self, on_build_failure: Callable[[BuildFailure], object]) -> None:
        self.on_build_failure = on_build_failure
        self.failures: deque[BuildFailure] = deque(maxlen=MAX_ERRORS)
        self.eval_errors: deque[EvalError] = deque(maxlen=MAX_ERRORS)
        #: The plain-text error block being read (empty when none is open).
        self.block: list[str] = []

    def message(self, obj: dict[str, Any]) -> list[Event]:
        """A `msg` record of the internal-json log."""
        level = obj.get("level")
        level = level if type(level) is int else 0
        text = strip_ansi(str(obj.get("msg") or ""))
        if level != 0 or not text.lstrip().startswith("error:"):  # e.g. "(use '--show-trace'"
            return [NixMessage(level, cut(text))]
        raw = obj.get("raw_msg")
        return self.error(text, strip_ansi(raw) if isinstance(raw, str) else None, _position(obj))

    def plain(self, line: str) -> list[Event]:
        """A line outside the JSON logger: an `error:` opens a block, indented lines
        continue it, anything else ends it and is a message of its own."""
        text = strip_ansi(line)
        if self.block and (text.startswith((" ", "\t")) or not text):
            if len(self.block) < MAX_BLOCK_LINES:
                self.block.append(text)
            return []
        events = self.flush()
        if text.startswith("error:"):
            self.block.append(text)
        elif text:
            events.append(NixMessage(1 if text.startswith("warning:") else 3, cut(text)))
        return events

    def flush(self) -> list[Event]:
        """End the open plain-text error block, if any."""
        if not self.block:
            return []
        text = "\n".join(self.block).rstrip()
        self.block = []
        return self.error(text, None, None)

    def error(self, text: str, raw: str | None, pos: messages.Position | None) -> list[Event]:
        """One error message: a builder failure, a mere summary, or an evaluation error."""
        failed = messages.builder_failure(text)
        if failed is not None:
            headline = cut(messages.headline(text))
            failure = BuildFailure(failed.drv_path, failed.exit_code, headline, failed.signal)
            self.failures.append(failure)
            self.on_build_failure(failure)
            return [BuildFailed(failure)]
        if messages.is_build_summary(text) or messages.is_operational(text):
            return [NixMessage(0, cut(text))]
        pos = pos or messages.error_position(text)
        error = EvalError(
            message=cut(raw.strip() if raw and raw.strip() else messages.reason(text)),
            detail=cut(text, 4 * MAX_LINE_CHARS),
            file=pos.file if pos else None,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
        )
        self.eval_errors.append(error)
        return [EvalFailed(error)]


def _position(obj: dict[str, Any]) -> messages.Position | None:
    """The error's own position, else the innermost trace entry with one (`--show-trace`),
    leaving out Nix's own files; None lets the text tell (Nix 2.26 gives a `throw` no
    position fields, only trace lines)."""
    trace = obj.get("trace")
    candidates = [obj] + (
        [t for t in trace if isinstance(t, dict)] if isinstance(trace, list) else []
    )
    for c in candidates:
        if isinstance(c.get("line"), int) and isinstance(c.get("file"), str):
            column = c.get("column")
            found = messages.position(c["file"], c["line"], column if type(column) is int else 0)
            if found is not None:
                return found
    return None
