# Shared head of every booted check's testScript, after the one generated line
# `VMTEST_CHECK, EXPECTED_FILE = "<check>", "/nix/store/...-expected.json"` and before
# the check's own script (tests/e2e/suite.nix). It changes nothing about how the
# driver runs the script: `subtest` is the driver's own, a failing subtest still
# raises and fails the build. It only adds:
#
# - `Expected`: the facts the script compares against, typed, loaded from the JSON file
#   nixos-vm-test.nix wrote from the evaluated configurations; a fact the file lacks or
#   class Facts does not know fails the check before any subtest, with the results file
#   and one `vmtest:` line naming it;
# - a recorder added to the driver's own logger (CompositeLogger.add_logger, the way the
#   driver adds its XML and JUnit loggers), which writes $out/vmtest-results.json when a
#   subtest starts ("running") and ends, with the error and, for a failed command, its
#   last output lines and the node's last serial lines (the backdoor's shell sends a
#   command's stderr to the serial console, not to `succeed`'s output);
# - the verdict as the log's last lines: at exit, and when the global timeout fires
#   (the driver then SIGTERMs itself; the default action still ends the process).
#
# Driver internals differ between generations (stored nixpkgs copies): driver.py @
# 003d58163f46 has Driver.global_timeout (int seconds), race_timer made in __init__ and
# machines_qemu; 24.11 has `machines` instead; the newest keeps the timeout as a
# timedelta in driver.config (config.py @ 88e5a35b) and makes race_timer in __enter__.
# Everything here is read with getattr: what this driver lacks is named in one log
# line, and the test runs as nixpkgs runs it. Where the logger takes no add_logger, the
# recorder wraps the script's `subtest` instead (the driver's stays outermost).
#
# Driver behaviour read in nixpkgs (stored copies; the pin 02e08985 was not stored):
# logger.py @ 0348869915cd (CompositeLogger.subtest enters every logger's subtest;
# add_logger; log_serial(message, machine) for each console line), driver.py @
# 003d58163f46 (Driver.subtest logs and re-raises; terminate_test releases the machines,
# then os.kill(getpid(), SIGTERM)), machine/__init__.py @ 019697db058b (succeed logs
# `output: ...` before raising), vlan.py @ 011792b4f6fb (vde_switch inherits stderr;
# stop() closes its stdin and terminates it).
import atexit
import collections
import dataclasses
import datetime
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

#: Lines of a failed command's output, and of its node's serial console, kept with the
#: subtest's error.
OUTPUT_LINES = 15
SERIAL_LINES = 10
#: Seconds the verdict waits for the driver's timeout block and for each vde_switch.
SETTLE_SECONDS = 5


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the evaluated configurations say (keys of the facts file; unknown keys fail)."""

    check_system: str
    uname_machine: str
    vm_system: str
    hostname: str
    test_user: str
    server_address: str
    ssh_private_key: str
    docker_image: str
    docker_image_ref: str
    docker_image_output: str
    toplevel: str
    state_version: str
    configured_state_version: str
    os_id: str
    os_version_id: str
    os_build_id: str
    failed_assertions: list[str]
    warnings: list[str]
    # Only platform-validation-test evaluates the aarch64 configuration.
    aarch64_system: str = ""
    aarch64_toplevel_drv: str = ""


def _load_facts(path: str) -> Facts | str:
    """The facts, or one line saying what is wrong with the file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return f"cannot read the facts file {path}: {exc}"
    if not isinstance(data, dict):
        return f"the facts file {path} is not a JSON object"
    known = {f.name for f in dataclasses.fields(Facts)}
    required = {f.name for f in dataclasses.fields(Facts) if f.default is dataclasses.MISSING}
    problems = [f'unknown fact "{k}"' for k in sorted(set(data) - known)]
    problems += [f'missing fact "{k}"' for k in sorted(required - set(data))]
    if problems:
        return f"the facts file {path} does not match class Facts: " + ", ".join(problems)
    return Facts(**data)


class DriverInternals:
    """The driver internals the header reads, each optional (see the head comment)."""

    def __init__(self, drv: Any) -> None:
        self.driver = drv
        self.missing: list[str] = []
        self.logger = getattr(drv, "logger", None)
        self.add_logger: Any = getattr(self.logger, "add_logger", None)
        self.hooked = callable(self.add_logger)
        if not self.hooked:
            self.missing.append(
                "logger.add_logger (subtests are recorded around subtest(),"
                " without command output or serial lines)"
            )
        self.global_timeout = self._global_timeout()
        if self.global_timeout is None:
            self.missing.append("a global timeout (driver.global_timeout or .config)")
        self.race_timer = getattr(drv, "race_timer", None)
        if not isinstance(self.race_timer, threading.Thread):
            self.race_timer = None
            self.missing.append("driver.race_timer")
        self.machines = self._machines()
        if self.machines is None:
            self.missing.append("machines with booted/connected (the timeout names no node)")
        self.vlans = [v for v in getattr(drv, "vlans", []) if callable(getattr(v, "stop", None))]

    def _global_timeout(self) -> float | None:
        for owner in (self.driver, getattr(self.driver, "config", None)):
            value = getattr(owner, "global_timeout", None)
            if isinstance(value, datetime.timedelta):
                return value.total_seconds()
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        return None

    def _machines(self) -> list[Any] | None:
        for name in ("machines_qemu", "machines"):
            machines = getattr(self.driver, name, None)
            if isinstance(machines, list) and all(
                hasattr(m, "booted") and hasattr(m, "connected") for m in machines
            ):
                return machines
        return None

    def announce(self) -> None:
        if self.missing:
            _say("vmtest: this test driver has no " + "; no ".join(self.missing))

    def silent_machines(self) -> list[str]:
        machines = self.machines or []
        return [str(m.name) for m in machines if m.booted and not m.connected]

    def settle(self, stop_vlans: bool) -> None:
        """Let the driver's timeout block end and each vde_switch exit (it prints when its
        stdin closes), so that nothing the driver started prints after the verdict."""
        timer = self.race_timer
        if stop_vlans and timer is not None and timer is not threading.current_thread():
            timer.join(timeout=SETTLE_SECONDS)
        for vlan in self.vlans:
            process = getattr(vlan, "process", None)
            try:
                if stop_vlans:
                    vlan.stop()
                if process is not None:
                    process.wait(timeout=SETTLE_SECONDS)
            except Exception as exc:  # noqa: BLE001  (the verdict must still come)
                print(f"vmtest: vlan {getattr(vlan, 'nr', '?')}: {exc}", file=sys.stderr)


class SubtestRecorder:
    """A logger for the driver's CompositeLogger that records subtests as they run.

    Duck-typed rather than an AbstractLogger subclass, so that a logger method a newer
    driver adds is a no-op here (__getattr__) instead of an abstract-class TypeError."""

    def __init__(self, check: str, path: Path, internals: DriverInternals) -> None:
        self._check = check
        self._path = path
        self._internals = internals
        self._status = "running"
        self._case_error: str | None = None
        self._retired = False
        self._subtests: list[dict[str, Any]] = []
        self._output: list[str] = []
        self._machine: str | None = None  # the node the running subtest last acted on
        self._serial: dict[str, collections.deque[str]] = {}
        self._tic = self._subtest_tic = time.monotonic()
        self._write()

    @contextmanager
    def subtest(self, name: str, attributes: dict[str, str] = {}) -> Iterator[None]:  # noqa: B006
        if self._retired:
            yield
            return
        record: dict[str, Any] = {"name": name, "status": "running", "error": None}
        record["durationSeconds"] = None
        self._subtests.append(record)
        self._output, self._machine = [], None
        self._subtest_tic = time.monotonic()
        self._write()
        try:
            yield
        except BaseException as exc:
            record["status"] = "failed"
            record["error"] = self._describe(exc)
            raise
        else:
            record["status"] = "passed"
        finally:
            record["durationSeconds"] = round(time.monotonic() - self._subtest_tic, 3)
            self._write()

    def around(self, subtest: Callable[[str], AbstractContextManager[None]]) -> Any:
        """The driver's `subtest` with this recorder inside it (no logger hook)."""

        @contextmanager
        def recorded(name: str) -> Iterator[None]:
            with subtest(name), self.subtest(name):
                yield

        return recorded

    @contextmanager
    def nested(self, message: str, attributes: dict[str, str] = {}) -> Iterator[None]:  # noqa: B006
        if "machine" in attributes:
            self._machine = attributes["machine"]
        if message.startswith("must succeed: "):
            self._output = []
        yield

    def log(self, message: str, attributes: dict[str, str] = {}) -> None:  # noqa: B006
        if message.startswith("output: "):  # BaseMachine.succeed, just before it raises
            self._output = message.removeprefix("output: ").splitlines()[-OUTPUT_LINES:]

    def log_serial(self, message: str, machine: str) -> None:
        self._serial.setdefault(machine, collections.deque(maxlen=SERIAL_LINES)).append(message)

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None

    def _describe(self, exc: BaseException) -> str:
        # 24.11's Driver.subtest logs with logger.error, which calls sys.exit(1): the
        # subtest's own error is the SystemExit's context.
        if isinstance(exc, SystemExit) and exc.__context__ is not None:
            exc = exc.__context__
        text = f"{type(exc).__name__}: {exc}"
        if self._output and str(exc).startswith("command `"):
            text += "\nlast output lines:\n" + "\n".join(self._output)
        serial = list(self._serial.get(self._machine or "", []))
        if serial:
            text += f"\nlast serial console lines of {self._machine}:\n" + "\n".join(serial)
        return text

    def _write(self) -> None:
        case = {
            "name": self._check,
            "status": self._status,
            "error": self._case_error,
            "durationSeconds": round(time.monotonic() - self._tic, 3),
            "subtests": self._subtests,
        }
        text = json.dumps({"schemaVersion": 1, "cases": [case]}, indent=2, sort_keys=True)
        try:
            self._path.write_text(text + "\n")
        except OSError as exc:
            if self._case_error is None:
                print(f"vmtest: cannot write {self._path}: {exc}", file=sys.stderr, flush=True)
            self._case_error = self._case_error or f"cannot write {self._path}: {exc}"

    def check_failed(self, error: str) -> None:
        """The check failed outside any subtest (the verdict, at exit, says why)."""
        self._case_error = error
        self._write()

    def verdict(self, timed_out: bool = False) -> None:
        """The check's last log lines: what failed and why, or that all passed (on stderr,
        where the driver logs, so they come last in the build log)."""
        if self._retired or self._status != "running":
            return
        self._internals.settle(stop_vlans=timed_out)
        if timed_out and self._subtests and self._subtests[-1]["status"] != "passed":
            # The running subtest; or the last one, if releasing the machines made it
            # fail first (e.g. "Shell disconnected" while waiting for the root shell).
            last = self._subtests[-1]
            cause = ""
            if last["status"] == "failed":
                # The error's first line in parentheses; the lines after it (a failed
                # command's output, serial lines) follow as they were.
                first, _, rest = str(last["error"]).partition("\n")
                cause = f" ({first})" + (f"\n{rest}" if rest else "")
            last["status"] = "failed"
            last["error"] = self._timeout_error() + cause
            if last["durationSeconds"] is None:
                last["durationSeconds"] = round(time.monotonic() - self._subtest_tic, 3)
        elif timed_out:
            self._case_error = self._timeout_error()
        failed = [s for s in self._subtests if s["status"] == "failed"]
        self._status = "failed" if failed or self._case_error else "passed"
        self._write()
        if failed:
            _say(f'vmtest: {self._check}: FAILED subtest "{failed[-1]["name"]}":')
            for line in str(failed[-1]["error"]).splitlines():
                _say(f"vmtest:   {line}")
        elif self._case_error:
            _say(f"vmtest: {self._check}: FAILED: {self._case_error}")
        else:
            _say(f"vmtest: {self._check}: {len(self._subtests)} subtests passed")

    def _timeout_error(self) -> str:
        seconds = self._internals.global_timeout
        if seconds is None:
            message = "the driver was terminated (SIGTERM; its global timeout is unknown here)"
        elif time.monotonic() - self._tic < seconds - 5:
            return "the driver was terminated (SIGTERM) before its global timeout"
        else:
            message = f"the global timeout ({seconds:g} s) was reached"
        silent = self._internals.silent_machines()
        if silent:
            message += f": the VM did not boot ({', '.join(silent)}: no root shell)"
        return message


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class OnGlobalTimeout:
    """SIGTERM handler: Driver.terminate_test (race_timer's thread) sends the signal after
    releasing the machines; give the verdict, then end as the default action would."""

    def __init__(self, recorder: SubtestRecorder) -> None:
        self.recorder = recorder

    def __call__(self, signum: int, frame: object) -> None:
        atexit.unregister(self.recorder.verdict)
        self.recorder.verdict(timed_out=True)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _retire_previous(logger: Any) -> None:
    """Interactive runs may call test_script() again: the earlier run's recorder stops
    recording and gives no verdict. (Each run defines the classes anew: compare names.)"""
    handler = signal.getsignal(signal.SIGTERM)
    previous = (
        [getattr(handler, "recorder", None)] if type(handler).__name__ == "OnGlobalTimeout" else []
    )
    loggers = getattr(logger, "logger_list", None)
    if isinstance(loggers, list):
        previous += [x for x in loggers if type(x).__name__ == "SubtestRecorder"]
    for old in previous:
        if old is not None:
            old._retired = True
            atexit.unregister(old.verdict)


def _start_recording() -> SubtestRecorder:
    internals = DriverInternals(driver)
    internals.announce()
    _retire_previous(internals.logger)
    # Nix names the output directory $out (lower case).
    out_dir = getattr(driver, "out_dir", None) or os.environ.get("out", ".")
    recorder = SubtestRecorder(VMTEST_CHECK, Path(out_dir) / "vmtest-results.json", internals)
    if internals.hooked:
        internals.add_logger(recorder)
    else:
        # The script's global `subtest` (this header runs in the script's namespace).
        globals()["subtest"] = recorder.around(subtest)
    atexit.register(recorder.verdict)
    # signal.signal works in the main thread only (where the driver runs the script;
    # an interactive session may run it elsewhere, and has no global timeout anyway).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, OnGlobalTimeout(recorder))
    return recorder


_recorder = _start_recording()
_facts = _load_facts(EXPECTED_FILE)
if isinstance(_facts, str):
    _recorder.check_failed(_facts)
    raise SystemExit(1)  # the verdict (atexit) names the fact; the driver exits non-zero
Expected = _facts
