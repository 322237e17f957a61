"""The process runner with real child processes: streaming, timeouts, process groups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vmtest.errors import EnvironmentNotReady
from vmtest.nix.process import (
    STDERR_TAIL_LINES,
    Stopped,
    TimedOut,
    live_count,
    run,
    stop_all,
    stopping,
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_streams_stderr_lines_and_collects_stdout() -> None:
    seen: list[str] = []
    done = run(
        ["sh", "-c", "echo out1; echo err1 >&2; printf 'err2-no-newline' >&2; echo out2; exit 3"],
        on_stderr_line=seen.append,
    )
    assert done.returncode == 3
    assert done.stdout == "out1\nout2\n"
    assert seen == ["err1", "err2-no-newline"]
    assert done.stderr_tail == seen


def test_stderr_tail_is_bounded() -> None:
    n = STDERR_TAIL_LINES * 5
    count = 0

    def handle(_line: str) -> None:
        nonlocal count
        count += 1

    done = run(
        [sys.executable, "-c", f"import sys\nfor i in range({n}): print(i, file=sys.stderr)"],
        on_stderr_line=handle,
    )
    assert count == n
    assert len(done.stderr_tail) == STDERR_TAIL_LINES
    assert done.stderr_tail[-1] == str(n - 1)


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! > {pids}; sleep 300"
    started = time.monotonic()
    with pytest.raises(TimedOut) as info:
        run(["sh", "-c", script], timeout=0.5)
    assert time.monotonic() - started < 10
    assert info.value.exit_code == 4
    background = int(pids.read_text())
    deadline = time.monotonic() + 5
    while alive(background) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(background)


def test_sigterm_first_lets_the_child_clean_up(tmp_path: Path) -> None:
    """nix stops its builders on SIGTERM; the runner must send it before SIGKILL."""
    flag = tmp_path / "cleaned"
    script = f"trap 'echo yes > {flag}; exit 0' TERM; while :; do sleep 0.1; done"
    with pytest.raises(TimedOut):
        run(["sh", "-c", script], timeout=0.5)
    assert flag.read_text().strip() == "yes"


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in this process, as `vmtest` makes it do, also when
    pytest started with SIGINT ignored (a background job: `pytest &`)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_raises")
def test_interrupt_stops_the_child(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    main = threading.get_ident()

    def interrupt_later() -> None:
        while not pidfile.exists():
            time.sleep(0.02)
        signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=interrupt_later, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 300"], timeout=30)
    assert not alive(int(pidfile.read_text()))


def test_missing_program_is_environment_error() -> None:
    with pytest.raises(EnvironmentNotReady) as info:
        run(["nix-definitely-not-here", "--version"])
    assert info.value.exit_code == 3
    assert "nix is not installed or not on PATH" in info.value.message


def test_env_is_passed_not_inherited() -> None:
    done = run(
        ["/bin/sh", "-c", "echo ${ONLY_HERE:-unset} ${HOME:-nohome}"], env={"ONLY_HERE": "yes"}
    )
    assert done.stdout.split() == ["yes", "nohome"]


def test_stop_all_ends_children_of_other_threads() -> None:
    """After Ctrl-C the main thread stops children that worker threads are reading."""
    results: list[int] = []
    worker = threading.Thread(
        target=lambda: results.append(run(["sh", "-c", "sleep 300"], timeout=120).returncode)
    )
    worker.start()
    deadline = time.monotonic() + 5
    while not live_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop_all()
    worker.join(timeout=15)
    assert not worker.is_alive()
    assert results and results[0] != 0


def test_stdout_can_be_streamed_instead_of_kept() -> None:
    lines: list[str] = []
    done = run(["sh", "-c", "echo a; echo b; printf c"], on_stdout_line=lines.append)
    assert done.returncode == 0
    assert lines == ["a", "b", "c"]
    assert done.stdout == ""


def test_no_child_starts_while_stopping(tmp_path: Path) -> None:
    """A worker thread that reaches its `run` after Ctrl-C (the stop list is taken) starts
    nothing: the block that waits for the workers outlives no child."""
    pidfile, go = tmp_path / "pid", threading.Event()
    refused: list[Stopped] = []

    def worker() -> None:
        go.wait(10)
        try:
            run(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 300"], timeout=120)
        except Stopped as exc:
            refused.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    with stopping():
        go.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert len(refused) == 1 and "sleep 300" in str(refused[0])
    assert not pidfile.exists() and live_count() == 0
    assert run(["true"]).returncode == 0  # after the block children start again


def test_a_child_starting_while_the_stop_list_is_taken_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stop list is taken between Popen and the child's registration: the child is
    stopped by the thread that started it, not left running."""
    real_popen = subprocess.Popen
    started: list[subprocess.Popen[bytes]] = []
    inside, release = threading.Event(), threading.Event()

    def stopper() -> None:
        with stopping():
            inside.set()
            release.wait(10)

    stopper_thread = threading.Thread(target=stopper)

    def popen_then_stop(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        started.append(proc)
        stopper_thread.start()
        inside.wait(10)
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_stop)
    try:
        with pytest.raises(Stopped):
            run(["sh", "-c", "exec sleep 300"], timeout=120)
    finally:
        release.set()
        stopper_thread.join(timeout=15)
    [proc] = started
    assert proc.poll() is not None
    assert live_count() == 0


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_while_a_child_starts_stops_that_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C that lands inside Popen (after the fork, before vmtest knows the child) is
    held back until the child is known, then stops it: no child left in its own session."""
    real_popen = subprocess.Popen
    started: list[subprocess.Popen[bytes]] = []

    def popen_then_ctrl_c(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        started.append(proc)
        signal.raise_signal(signal.SIGINT)  # its handler runs here, inside "Popen"
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run(["sh", "-c", "exec sleep 300"], timeout=120)
    [proc] = started
    assert proc.poll() is not None
    assert live_count() == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
