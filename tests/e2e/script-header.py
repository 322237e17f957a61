# Shared head of every booted check's testScript, after the one generated line
# `VMTEST_CHECK, EXPECTED_FILE = "<check>", "/nix/store/...-expected.json"` and before
# the check's own script (tests/e2e/suite.nix). It changes nothing about how the
# driver runs the script: `subtest` is the driver's own, a failing subtest still
# raises and fails the build. It only adds:
#
# - `Expected`: the facts the script compares against, typed, loaded from the JSON file
#   nixos-vm-test.nix wrote from the evaluated configurations;
# - a recorder added to the driver's own logger (CompositeLogger.add_logger, the way the
#   driver adds its XML and JUnit loggers), which writes $out/vmtest-results.json each
#   time a subtest ends, with the error and, for a failed command, its last output lines;
# - the verdict as the log's last lines: at exit, and when the global timeout fires
#   (the driver then SIGTERMs itself; the default action still ends the process).
#
# Driver behaviour read in nixpkgs (stored copies; the pin 02e08985 was not stored):
# logger.py @ 0348869915cd (CompositeLogger.subtest enters every logger's subtest;
# add_logger), driver.py @ 003d58163f46 (Driver.subtest logs and re-raises;
# terminate_test releases the machines, then os.kill(getpid(), SIGTERM)),
# machine/__init__.py @ 019697db058b (succeed logs `output: ...` before raising).
import atexit
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test_driver.logger import CompositeLogger

#: Lines of a failed command's output kept with the subtest's error.
OUTPUT_LINES = 15


@dataclass(frozen=True)
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


Expected = Facts(**json.loads(Path(EXPECTED_FILE).read_text()))


class SubtestRecorder:
    """A logger for the driver's CompositeLogger that records subtests as they end.

    Duck-typed rather than an AbstractLogger subclass, so that a logger method a newer
    driver adds is a no-op here (__getattr__) instead of an abstract-class TypeError."""

    def __init__(self, check: str, path: Path) -> None:
        self.check = check
        self.path = path
        self.subtests: list[dict[str, Any]] = []
        self.output: list[str] = []
        self.tic = time.monotonic()
        self.write()

    @contextmanager
    def subtest(self, name: str, attributes: dict[str, str] = {}) -> Iterator[None]:  # noqa: B006
        record: dict[str, Any] = {"name": name, "status": "running", "error": None}
        self.subtests.append(record)
        self.output = []
        tic = time.monotonic()
        try:
            yield
        except BaseException as exc:
            record["status"] = "failed"
            record["error"] = self.describe(exc)
            raise
        else:
            record["status"] = "passed"
        finally:
            record["durationSeconds"] = round(time.monotonic() - tic, 3)
            self.write()

    @contextmanager
    def nested(self, message: str, attributes: dict[str, str] = {}) -> Iterator[None]:  # noqa: B006
        if message.startswith("must succeed: "):
            self.output = []
        yield

    def log(self, message: str, attributes: dict[str, str] = {}) -> None:  # noqa: B006
        if message.startswith("output: "):  # BaseMachine.succeed, just before it raises
            self.output = message.removeprefix("output: ").splitlines()[-OUTPUT_LINES:]

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None

    def describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        if self.output and str(exc).startswith("command `"):
            text += "\nlast output lines:\n" + "\n".join(self.output)
        return text

    def write(self) -> None:
        failed = any(s["status"] == "failed" for s in self.subtests)
        case = {
            "name": self.check,
            "status": "failed" if failed else "passed",
            "error": None,
            "durationSeconds": round(time.monotonic() - self.tic, 3),
            "subtests": self.subtests,
        }
        text = json.dumps({"schemaVersion": 1, "cases": [case]}, indent=2, sort_keys=True)
        self.path.write_text(text + "\n")

    def verdict(self, timed_out: bool = False) -> None:
        """The check's last log lines: what failed and why, or that all passed (on stderr,
        where the driver logs, so they come last in the build log)."""
        if timed_out and self.subtests and self.subtests[-1]["status"] != "passed":
            # The running subtest; or the last one, if releasing the machines made it
            # fail first (e.g. "Shell disconnected" while waiting for the root shell).
            last = self.subtests[-1]
            cause = f" ({last['error']})" if last["status"] == "failed" else ""
            last["status"] = "failed"
            last["error"] = self.timeout_error() + cause
            self.write()
        failed = [s for s in self.subtests if s["status"] == "failed"]
        if not failed:
            passed = len(self.subtests)
            print(f"vmtest: {self.check}: {passed} subtests passed", file=sys.stderr, flush=True)
            return
        print(
            f'vmtest: {self.check}: FAILED subtest "{failed[-1]["name"]}":',
            file=sys.stderr,
            flush=True,
        )
        for line in str(failed[-1]["error"]).splitlines():
            print(f"vmtest:   {line}", file=sys.stderr, flush=True)

    def timeout_error(self) -> str:
        if time.monotonic() - self.tic < driver.global_timeout - 5:
            return "the driver was terminated (SIGTERM) before its global timeout"
        message = f"the global timeout ({driver.global_timeout} s) was reached"
        silent = [m.name for m in driver.machines_qemu if m.booted and not m.connected]
        if silent:
            message += f": the VM did not boot ({', '.join(silent)}: no root shell)"
        return message


def _start_recording() -> SubtestRecorder:
    logger = driver.logger
    if not isinstance(logger, CompositeLogger):
        raise TypeError(f"vmtest: the driver's logger is {type(logger).__name__}, not composite")
    # Interactive runs may call test_script() again: keep one recorder.
    # (Each run defines the class anew, so compare by name.)
    for old in [x for x in logger.logger_list if type(x).__name__ == "SubtestRecorder"]:
        logger.logger_list.remove(old)
        atexit.unregister(getattr(old, "verdict"))  # noqa: B009  (typed as AbstractLogger)
    recorder = SubtestRecorder(VMTEST_CHECK, driver.out_dir / "vmtest-results.json")
    logger.add_logger(recorder)  # type: ignore
    atexit.register(recorder.verdict)

    def on_global_timeout(signum: int, frame: object) -> None:
        # Driver.terminate_test (race_timer's thread) sends this, then logs the end of its
        # "timeout reached" block: let it finish, so that the verdict is the last line.
        if driver.race_timer.is_alive():
            driver.race_timer.join(timeout=5)
        atexit.unregister(recorder.verdict)
        recorder.verdict(timed_out=True)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    # signal.signal works in the main thread only (where the driver runs the script;
    # an interactive session may run it elsewhere, and has no global timeout anyway).
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_global_timeout)
    return recorder


_recorder = _start_recording()
