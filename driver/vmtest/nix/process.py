"""The one place where vmtest runs processes (with `vmtest.nix.children`, which starts them).

Every child gets an argv list (never a shell), its own session (so its own
process group), stdin from /dev/null, and a deadline. stderr is streamed line
by line to a callback and only a bounded tail is kept, so memory stays flat
however long the log. On timeout or Ctrl-C the whole group is stopped
(`vmtest.nix.children` keeps the children and stops them: SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import logging
import os
import selectors
import shlex
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from vmtest.errors import ExitCode, VmtestError
from vmtest.nix.children import (
    KILL_GRACE_SECONDS,
    Stopped,
    close_pipes,
    forget,
    live_count,
    start,
    stop_all,
    stop_group,
    stopping,
)

__all__ = [
    "EVAL_GRACE_SECONDS",
    "KILL_GRACE_SECONDS",
    "STDERR_TAIL_LINES",
    "Completed",
    "LineHandler",
    "Stopped",
    "TimedOut",
    "live_count",
    "run",
    "stop_all",
    "stop_group",
    "stopping",
]

log = logging.getLogger(__name__)

LineHandler = Callable[[str], object]

#: Evaluation only: Nix 2.8 does not notice SIGTERM in the middle of a long evaluation
#: (seen here: a 5 s grace always ran out), and there is nothing to clean up.
EVAL_GRACE_SECONDS = 0.5
#: Lines of stderr kept in memory for error messages.
STDERR_TAIL_LINES = 200


class TimedOut(VmtestError):
    """A child ran past its deadline; its process group was killed.

    Inside a run the runner turns this into timed-out checks (the budget of --timeout);
    raised to the user it comes from a call with a fixed limit (nix version, manifest)."""

    exit_code = ExitCode.TIMED_OUT

    def __init__(self, argv: Sequence[str], timeout: float, stderr_tail: Sequence[str]) -> None:
        super().__init__(
            f"timed out after {timeout:g} s: {shlex.join(argv)}",
            hint="run that command by hand to see what it waits for (nix daemon, a store "
            "lock, the network)",
        )
        self.argv = list(argv)
        self.timeout = timeout
        self.stderr_tail = list(stderr_tail)


@dataclass(frozen=True)
class Completed:
    """A finished child: exit code, all of stdout, the last lines of stderr."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr_tail: list[str]
    seconds: float


#: The longest single select() wait, in seconds (see `_pump`).
_MAX_WAIT = 3600.0


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    on_stderr_line: LineHandler | None = None,
    on_stdout_line: LineHandler | None = None,
    grace: float = KILL_GRACE_SECONDS,
) -> Completed:
    """Run `argv` to completion; raise `TimedOut` past `timeout` seconds.

    With `on_stdout_line`, stdout is streamed like stderr and `Completed.stdout` is empty.
    `grace`: seconds between SIGTERM and SIGKILL when it is stopped.

    `KeyboardInterrupt` (and any other exception raised by the callback) stops
    the child's whole process group before it propagates.
    """
    log.debug("+ %s", shlex.join(argv))
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    def handle(line: str) -> None:
        tail.append(line)
        if on_stderr_line is not None:
            on_stderr_line(line)

    deadline = None if timeout is None else started + timeout
    proc = start(argv, env, grace)  # nothing between here and `try` may run a signal handler
    try:
        stdout, finished = _pump(proc, handle, on_stdout_line, deadline)
        if not finished:
            raise TimedOut(argv, timeout or 0.0, tail)
    except BaseException:
        stop_group(proc, grace)
        close_pipes(proc)
        raise
    finally:
        forget(proc)
    returncode = proc.wait()
    close_pipes(proc)
    seconds = time.monotonic() - started
    log.debug("exit %d after %.3f s: %s", returncode, seconds, argv[0])
    return Completed(list(argv), returncode, stdout, list(tail), seconds)


class _Lines:
    """Splits a byte stream into decoded lines for a handler, keeping only a partial line."""

    def __init__(self, handle: LineHandler) -> None:
        self.handle = handle
        self.buf = b""

    def feed(self, data: bytes) -> None:
        *lines, self.buf = (self.buf + data).split(b"\n")
        for line in lines:
            self.handle(line.decode(errors="replace"))

    def close(self) -> None:
        if self.buf:
            self.handle(self.buf.decode(errors="replace"))
            self.buf = b""


def _pump(
    proc: subprocess.Popen[bytes],
    on_err: LineHandler,
    on_out: LineHandler | None,
    deadline: float | None,
) -> tuple[str, bool]:
    """Read both pipes until EOF or the deadline; returns (stdout, reached EOF).

    stderr always goes line by line to `on_err`; stdout too when `on_out` is given
    (then nothing of it is kept), else it is collected and returned."""
    assert proc.stdout is not None and proc.stderr is not None
    out_chunks: list[bytes] = []
    err = _Lines(on_err)
    out = _Lines(on_out) if on_out is not None else None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        while sel.get_map():
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return b"".join(out_chunks).decode(errors="replace"), False
            # select() cannot wait longer than its C timeout allows (OverflowError past
            # ~25 days): wake up at least hourly and look at the deadline again.
            for key, _ in sel.select(None if wait is None else min(wait, _MAX_WAIT)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                elif key.data == "err":
                    err.feed(data)
                elif out is not None:
                    out.feed(data)
                else:
                    out_chunks.append(data)
    err.close()
    if out is not None:
        out.close()
    return b"".join(out_chunks).decode(errors="replace"), True
