"""Recognise the NixOS test driver's log lines (one line, ANSI already stripped).

The driver (nixpkgs `nixos/lib/test-driver/src/test_driver/` logger.py, driver.py,
machine.py; the pinned nixos-26.05 02e08985a27c is not in the stored copies, so read
at stored revisions 0348869915cd and d083f3f994b1 (logger.py), 003d58163f46 and
e92a8275e21b (driver.py), 0e66f3e0982d (machine.py); the line shapes below are
identical in all of them) writes to stderr, which Nix turns into build log lines.
`TerminalLogger.nested(msg)` prints `msg` (bright green) and, only if the block does
not raise, `(finished: msg, in 1.23 seconds)`; machine messages are prefixed
`<machine>: `; serial output is `<machine> # ...`. We read:

- `subtest: NAME` ... `(finished: subtest: NAME, in S seconds)`
- `!!! Test "NAME" failed with error: "MESSAGE"` (`Driver.subtest` on exception,
  through `log_test_error`, which prefixes `!!! `)
- `run the VM test script` ... `(finished: run the VM test script, in S seconds)`
- `<m>: starting vm`, `<m>: waiting for the VM to finish booting`,
  `<m>: (finished: waiting for the VM to finish booting, in S seconds)`,
  `<m>: connected to guest root shell` (machine.py `connect()` logs it inside the
  "waiting" block, so it comes first). S is how long the script waited, which is not
  the boot time when the machine booted in parallel (started by `start_all()`): a
  machine's boot is timed by the clock, from its "starting vm" line to its shell
  connecting.
- `timeout reached; test terminating...` (the driver's global timeout)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from vmtest.nix.logevents import (
    MAX_SUBTESTS,
    DerivationState,
    Event,
    ScriptStarted,
    SubtestFinished,
    SubtestStarted,
    SubtestState,
    VmBooted,
    VmStarting,
    cut,
)


class Kind(Enum):
    SUBTEST_START = "subtest-start"
    SUBTEST_END = "subtest-end"
    SUBTEST_FAILED = "subtest-failed"
    SCRIPT_START = "script-start"
    SCRIPT_END = "script-end"
    VM_STARTING = "vm-starting"
    BOOTED = "booted"
    CONNECTED = "connected"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class DriverLine:
    kind: Kind
    name: str | None = None
    machine: str | None = None
    seconds: float | None = None
    message: str | None = None


_SECONDS = r"in (?P<s>[0-9]+(?:\.[0-9]+)?) seconds\)"
_SUBTEST_START = re.compile(r"subtest: (?P<name>.+)")
_SUBTEST_END = re.compile(r"\(finished: subtest: (?P<name>.+), " + _SECONDS)
_SUBTEST_FAILED = re.compile(
    r"(?:!!! )?Test \"(?P<name>.*)\" failed with error: \"(?P<msg>.*?)(?:\")?"
)
_SCRIPT_END = re.compile(r"\(finished: run the VM test script, " + _SECONDS)
_MACHINE = re.compile(r"(?P<m>[A-Za-z0-9_][A-Za-z0-9_.-]*): (?P<rest>.*)")


def maybe_driver_line(line: str) -> bool:
    """Cheap pre-check: False for lines `classify` surely ignores (most build log lines).

    Every line `classify` recognises contains one of these substrings; plain `in`
    tests are several times cheaper than a regex search on the hot path."""
    return (
        "subtest: " in line
        or "failed with error: " in line
        or "run the VM test script" in line
        or "timeout reached" in line
        or "starting vm" in line
        or "finish booting" in line
        or "guest root shell" in line
    )


_BOOTED = re.compile(r"\(finished: waiting for the VM to finish booting, " + _SECONDS)


def classify(line: str) -> DriverLine | None:
    """The driver event a log line stands for, or None for any other line."""
    if not maybe_driver_line(line):
        return None
    text = line.strip()
    if m := _SUBTEST_END.fullmatch(text):
        return DriverLine(Kind.SUBTEST_END, name=m["name"], seconds=float(m["s"]))
    if m := _SUBTEST_FAILED.fullmatch(text):
        return DriverLine(Kind.SUBTEST_FAILED, name=m["name"], message=m["msg"])
    if text == "run the VM test script":
        return DriverLine(Kind.SCRIPT_START)
    if m := _SCRIPT_END.fullmatch(text):
        return DriverLine(Kind.SCRIPT_END, seconds=float(m["s"]))
    if text == "timeout reached; test terminating...":
        return DriverLine(Kind.TIMEOUT)
    if m := _SUBTEST_START.fullmatch(text):
        return DriverLine(Kind.SUBTEST_START, name=m["name"])
    if m := _MACHINE.fullmatch(text):
        return _machine_line(m["m"], m["rest"])
    return None


def _machine_line(machine: str, rest: str) -> DriverLine | None:
    if rest == "starting vm":
        return DriverLine(Kind.VM_STARTING, machine=machine)
    if m := _BOOTED.fullmatch(rest):
        return DriverLine(Kind.BOOTED, machine=machine, seconds=float(m["s"]))
    if rest == "connected to guest root shell":
        return DriverLine(Kind.CONNECTED, machine=machine)
    return None


def apply(state: DerivationState, line: str, clock: Callable[[], float]) -> list[Event]:
    """Update `state` from one driver line; return the events it stands for."""
    d = classify(line) if maybe_driver_line(line) else None
    if d is None:
        return []
    drv, K = state.drv_path, Kind
    if d.kind is K.SUBTEST_START and d.name is not None:
        if d.name not in state.subtests and len(state.subtests) < MAX_SUBTESTS:
            state.subtests[d.name] = SubtestState(d.name)
        state._current_subtests.append(d.name)
        return [SubtestStarted(drv, d.name)]
    if d.kind in (K.SUBTEST_END, K.SUBTEST_FAILED) and d.name is not None:
        sub = state.subtests.get(d.name)
        if sub is None:
            return []
        failed = d.kind is K.SUBTEST_FAILED
        if failed or sub.passed is None:
            sub.passed = not failed and sub.passed is not False
        sub.duration = d.seconds if d.seconds is not None else sub.duration
        if failed and sub.message is None:
            sub.message = cut(d.message or "")
        if d.name in state._current_subtests:
            state._current_subtests.remove(d.name)
        return [SubtestFinished(drv, d.name, bool(sub.passed), sub.duration, sub.message)]
    return _driver_phase_events(state, d, clock)


def _driver_phase_events(
    state: DerivationState, d: DriverLine, clock: Callable[[], float]
) -> list[Event]:
    drv, K = state.drv_path, Kind
    if d.kind is K.SCRIPT_START:
        state.script_started_at = clock()
        return [ScriptStarted(drv)]
    if d.kind is K.SCRIPT_END:
        state.script_duration = d.seconds
    elif d.kind is K.TIMEOUT:
        state.driver_timed_out = True
    elif d.kind is K.VM_STARTING and d.machine is not None:
        now = clock()
        state.vm_start_at = now if state.vm_start_at is None else state.vm_start_at
        state.vm_started.setdefault(d.machine, now)
        return [VmStarting(drv, d.machine)]
    elif d.kind in (K.BOOTED, K.CONNECTED) and d.machine is not None:
        # The shell connects just before the driver's "finished booting" line (machine.py
        # `connect`): whichever comes first marks the end of that machine's boot.
        if d.kind is K.BOOTED and d.seconds is not None:
            state.boot_waits[d.machine] = d.seconds
        if d.machine not in state.vm_connected:
            state.vm_connected[d.machine] = clock()
            return [VmBooted(drv, d.machine, state.machine_boot(d.machine))]
    return []
