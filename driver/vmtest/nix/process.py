"""The one place where vmtest starts processes.

Every child gets an argv list (never a shell), its own session (so its own
process group), stdin from /dev/null, and a deadline. stderr is streamed line
by line to a callback and only a bounded tail is kept, so memory stays flat
however long the log. On timeout or Ctrl-C the whole group is stopped: SIGTERM
first, so nix can stop its builders (it runs each builder in a session of its
own and kills it on SIGTERM, but cannot on SIGKILL), then SIGKILL after a grace
period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from vmtest.errors import EnvironmentNotReady, ExitCode, VmtestError

log = logging.getLogger(__name__)

LineHandler = Callable[[str], object]

#: Seconds between SIGTERM and SIGKILL of a child's process group.
KILL_GRACE_SECONDS = 5.0
#: Evaluation only: Nix 2.8 does not notice SIGTERM in the middle of a long evaluation
#: (seen here: a 5 s grace always ran out), and there is nothing to clean up.
EVAL_GRACE_SECONDS = 0.5
#: Lines of stderr kept in memory for error messages.
STDERR_TAIL_LINES = 200

_live: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()
#: Open `stopping()` blocks: while any is open no child is started (see `_start`).
_stopping = 0


class Stopped(Exception):
    """A child was not started, or was stopped at once, because vmtest is stopping its
    children (after Ctrl-C or a timeout, see `stopping`)."""

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__(f"not started, vmtest is stopping: {shlex.join(argv)}")


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
    proc = _start(argv, env)
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    def handle(line: str) -> None:
        tail.append(line)
        if on_stderr_line is not None:
            on_stderr_line(line)

    deadline = None if timeout is None else started + timeout
    try:
        stdout, finished = _pump(proc, handle, on_stdout_line, deadline)
        if not finished:
            raise TimedOut(argv, timeout or 0.0, tail)
    except BaseException:
        stop_group(proc, grace)
        _close_pipes(proc)
        raise
    finally:
        with _live_lock:
            _live.discard(proc)
    returncode = proc.wait()
    _close_pipes(proc)
    seconds = time.monotonic() - started
    log.debug("exit %d after %.3f s: %s", returncode, seconds, argv[0])
    return Completed(list(argv), returncode, stdout, list(tail), seconds)


def _start(argv: Sequence[str], env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own, known to `stop_all`; `Stopped` inside a
    `stopping()` block (also when the block opened while the child was starting)."""
    with _live_lock:
        if _stopping:
            raise Stopped(argv)
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as exc:
        raise EnvironmentNotReady(_not_found(argv[0]), hint=_install_hint(argv[0])) from exc
    with _live_lock:
        _live.add(proc)
        refused = _stopping > 0
    if refused:  # `stopping()` took its list of children while this one was starting
        stop_group(proc)
        _close_pipes(proc)
        with _live_lock:
            _live.discard(proc)
        raise Stopped(argv)
    return proc


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


def live_count() -> int:
    """How many children are running right now (all threads)."""
    with _live_lock:
        return len(_live)


@contextlib.contextmanager
def stopping() -> Iterator[None]:
    """Stop every child and start no new one until the block ends: wrap the wait for
    worker threads that may be about to start one (after Ctrl-C, a timeout or an error
    in another thread), so none outlives the block."""
    global _stopping
    with _live_lock:
        _stopping += 1
    try:
        stop_all()
        yield
    finally:
        with _live_lock:
            _stopping -= 1


def stop_all() -> None:
    """Stop every child still running (children of worker threads, after Ctrl-C).

    Signals only: each owning thread then reads EOF and finishes on its own."""
    with _live_lock:
        running = list(_live)
    for proc in running:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the child's process group, then SIGKILL it if still alive after `grace`."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.debug("process group %d ignored SIGTERM; sending SIGKILL", proc.pid)
    # Whatever is left of the group (the leader may be gone, members not).
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    # Only the thread that reads the pipes may close them: closing a descriptor that
    # another thread is polling would leave that thread waiting for an EOF that never comes.
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _not_found(program: str) -> str:
    if program.startswith("nix"):
        return f"nix is not installed or not on PATH ({program} not found)"
    return f"{program} not found on PATH"


def _install_hint(program: str) -> str:
    if program.startswith("nix"):
        return (
            "install Nix (https://nixos.org/download, or `apt-get install nix-bin`) "
            "and make sure it is on PATH"
        )
    return f"install {program} and make sure it is on PATH"
