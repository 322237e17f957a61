"""The children vmtest runs: started in sessions of their own, known until they end,
stopped as a whole after Ctrl-C or a timeout (used by `vmtest.nix.process` only).

SIGTERM first, so nix can stop its builders (it runs each builder in a session of its
own and kills it on SIGTERM, but cannot on SIGKILL), then SIGKILL after a grace period.
While a `stopping()` block is open (the wait for worker threads after Ctrl-C) no child
starts, and one that was starting as the block opened is stopped at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import Any

from vmtest.errors import EnvironmentNotReady

log = logging.getLogger(__name__)

#: Seconds between SIGTERM and SIGKILL of a child's process group.
KILL_GRACE_SECONDS = 5.0

#: Running children, each with its grace (seconds between SIGTERM and SIGKILL).
_live: dict[subprocess.Popen[bytes], float] = {}
_live_lock = threading.Lock()
#: Open `stopping()` blocks: while any is open no child is started (see `start`).
_stopping = 0


class Stopped(Exception):
    """A child was not started, or was stopped at once, because vmtest is stopping its
    children (after Ctrl-C or a timeout, see `stopping`)."""

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__(f"not started, vmtest is stopping: {shlex.join(argv)}")


def start(
    argv: Sequence[str], env: Mapping[str, str] | None, grace: float = KILL_GRACE_SECONDS
) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own, known to `stop_all`; `Stopped` inside a
    `stopping()` block (also when the block opened while the child was starting).

    A Ctrl-C that comes while the child starts is held back until it is registered, then
    stops it: raised inside Popen it would leave a child running in a session of its own
    that nothing knows of."""
    with _live_lock:
        if _stopping:
            raise Stopped(argv)
    proc: subprocess.Popen[bytes] | None = None
    try:
        with _signals_held():
            proc = _popen(argv, env)
            with _live_lock:
                _live[proc] = grace
                refused = _stopping > 0
        if refused:  # `stopping()` took its list of children while this one was starting
            raise Stopped(argv)
    except BaseException:
        if proc is not None:
            stop_group(proc)
            close_pipes(proc)
            forget(proc)
        raise
    return proc


def _popen(argv: Sequence[str], env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError as exc:
        raise EnvironmentNotReady(_not_found(argv[0]), hint=_install_hint(argv[0])) from exc


#: Signals whose Python handlers end a run (Ctrl-C; SIGTERM and SIGHUP as `vmtest` sets them).
_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """In the main thread (the only one Python runs signal handlers in): record the
    signals above instead of handling them, then hand the first one to its handler when
    the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, FrameType | None]] = []
    saved: dict[int, Callable[[int, FrameType | None], Any]] = {}
    for sig in _HELD_SIGNALS:
        handler = signal.getsignal(sig)
        if callable(handler):  # not SIG_IGN / SIG_DFL: nothing to hold back there
            saved[sig] = handler
            signal.signal(sig, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if held:
            first, frame = held[0]
            saved[first](first, frame)


def forget(proc: subprocess.Popen[bytes]) -> None:
    """`proc` ended (or was stopped by its owner): `stop_all` leaves it alone."""
    with _live_lock:
        _live.pop(proc, None)


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
        running = dict(_live)
    for proc in running:  # all at once, then each gets its grace
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
    for proc, grace in running.items():
        stop_group(proc, grace)


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


def close_pipes(proc: subprocess.Popen[bytes]) -> None:
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
