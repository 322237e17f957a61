"""Data the log parser produces: progress, failures, per-derivation state, events.

Plain data; `vmtest.nix.logparse` fills it in, `vmtest.nix.driverlog` reads test driver lines.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

DEFAULT_TAIL_LINES = 50
DEFAULT_MAX_DERIVATIONS = 256
MAX_LINE_CHARS = 4096
MAX_ERRORS = 50
MAX_SUBTESTS = 1000


def cut(text: str, limit: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " [...]"


# ---------------------------------------------------------------- public data


@dataclass
class Progress:
    """Build progress as Nix reports it (counts of derivations and of copied paths)."""

    builds_done: int = 0
    builds_expected: int = 0
    builds_failed: int = 0
    copies_done: int = 0
    copies_expected: int = 0
    activity: str = ""


@dataclass(frozen=True)
class BuildFailure:
    """A derivation whose builder failed; `exit_code` is None when killed by a signal."""

    drv_path: str
    exit_code: int | None
    message: str
    signal: int | None = None


@dataclass(frozen=True)
class EvalError:
    """A Nix error that is not a build failure (evaluation, missing attribute, ...)."""

    message: str
    detail: str
    file: str | None = None
    line: int | None = None
    column: int | None = None


@dataclass
class SubtestState:
    """A driver subtest as seen in the log; `passed` is None while it runs."""

    name: str
    passed: bool | None = None
    duration: float | None = None
    message: str | None = None


@dataclass
class DerivationState:
    """What the log told about one derivation (bounded)."""

    drv_path: str
    tail: deque[str]
    started_at: float | None = None
    stopped_at: float | None = None
    phase: str | None = None
    failure: BuildFailure | None = None
    subtests: OrderedDict[str, SubtestState] = field(default_factory=OrderedDict)
    #: Clock times per machine: its "starting vm" line, and its shell connecting.
    vm_started: dict[str, float] = field(default_factory=dict)
    vm_connected: dict[str, float] = field(default_factory=dict)
    #: The driver's "waiting for the VM to finish booting, in S seconds" figures: how long
    #: the script waited, not how long the VM took (it may have booted in parallel).
    boot_waits: dict[str, float] = field(default_factory=dict)
    vm_start_at: float | None = None
    script_started_at: float | None = None
    script_duration: float | None = None
    driver_timed_out: bool = False
    _current_subtests: list[str] = field(default_factory=list)

    @property
    def is_vm_test(self) -> bool:
        """True when NixOS test driver output was seen in this log."""
        return self.script_started_at is not None or bool(self.subtests)

    def machine_boot(self, machine: str) -> float | None:
        """Seconds from the machine's VM starting to its shell connecting (by the clock)."""
        started, connected = self.vm_started.get(machine), self.vm_connected.get(machine)
        return None if started is None or connected is None else max(0.0, connected - started)

    def boot_seconds(self) -> float | None:
        """The boot phase: from the first VM starting until the last shell connected."""
        if not self.vm_connected or self.vm_start_at is None:
            return None
        return max(0.0, max(self.vm_connected.values()) - self.vm_start_at)

    def script_seconds(self) -> float | None:
        """Test-script time without boot; measured by the clock when the script failed."""
        total = self.script_duration
        if total is None and self.script_started_at is not None and self.stopped_at is not None:
            total = max(0.0, self.stopped_at - self.script_started_at)
        if total is None:
            return None
        return max(0.0, total - (self.boot_seconds() or 0.0))


# ---------------------------------------------------------------------- events
# Plain slotted dataclasses (not frozen): one is made per log line, so creation is hot.


@dataclass(slots=True)
class BuildStarted:
    drv_path: str


@dataclass(slots=True)
class BuildStopped:
    drv_path: str


@dataclass(slots=True)
class LogLine:
    drv_path: str
    line: str


@dataclass(slots=True)
class ProgressChanged:
    progress: Progress


@dataclass(slots=True)
class BuildFailed:
    failure: BuildFailure


@dataclass(slots=True)
class EvalFailed:
    error: EvalError


@dataclass(slots=True)
class NixMessage:
    """Any other message Nix printed (level 0 error .. 7 vomit)."""

    level: int
    text: str


@dataclass(slots=True)
class SubtestStarted:
    drv_path: str
    name: str


@dataclass(slots=True)
class SubtestFinished:
    drv_path: str
    name: str
    passed: bool
    duration: float | None
    message: str | None


@dataclass(slots=True)
class VmStarting:
    drv_path: str
    machine: str


@dataclass(slots=True)
class VmBooted:
    drv_path: str
    machine: str
    duration: float | None


@dataclass(slots=True)
class ScriptStarted:
    drv_path: str


Event = (
    BuildStarted
    | BuildStopped
    | LogLine
    | ProgressChanged
    | BuildFailed
    | EvalFailed
    | NixMessage
    | SubtestStarted
    | SubtestFinished
    | VmStarting
    | VmBooted
    | ScriptStarted
)
