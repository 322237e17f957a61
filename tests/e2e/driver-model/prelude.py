# Typed model of the NixOS test driver's globals, for the offline type check of
# tests/e2e/scripts/*.py (driver/vmtest/scriptlint). It plays the part of nixpkgs'
# nixos/lib/test-script-prepend.py: scriptlint puts this file, then one line per node
# of the check (`<node>: QemuMachine = driver_binds()`), then the check's testScript
# (generated line, script-header.py, script), into one file for ty, ruff and mypy, as
# nixos/lib/testing/driver.nix builds testScriptWithTypes; the test_driver/ package
# beside it models the driver modules the header imports.
#
# Written from the driver source read with the search tool (stored copies of
# NixOS/nixpkgs; the exact nixos-26.05 pin 02e08985 was not among them):
#   nixos/lib/test-driver/src/test_driver/machine/__init__.py @ 019697db058b
#     (BaseMachine + QemuMachine + NspawnMachine, timeouts as int seconds)
#   nixos/lib/test-driver/src/test_driver/driver.py @ 003d58163f46
#     (Driver.test_symbols: the names a script sees)
#   nixos/lib/testing/driver.nix (26.05 shape: `name: QemuMachine;` per node)
# Only public methods that exist there are declared; their parameter names,
# defaults and return types follow that source. Bodies never run.
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from unittest import TestCase

from test_driver.logger import AbstractLogger


def _model_only() -> NotImplementedError:
    return NotImplementedError("type model of the NixOS test driver; never executed")


class VLan:
    nr: int


class BaseMachine:
    name: str
    out_dir: Path
    state_dir: Path
    shared_dir: Path

    def log(self, msg: str) -> None:
        raise _model_only()

    def nested(self, msg: str, attrs: dict[str, str] = {}) -> AbstractContextManager[None]:  # noqa: B006
        raise _model_only()

    def is_up(self) -> bool:
        raise _model_only()

    def wait_for_shutdown(self) -> None:
        raise _model_only()

    def systemctl(self, q: str, user: str | None = None) -> tuple[int, str]:
        raise _model_only()

    def wait_for_unit(self, unit: str, user: str | None = None, timeout: int = 900) -> None:
        raise _model_only()

    def get_unit_info(self, unit: str, user: str | None = None) -> dict[str, str]:
        raise _model_only()

    def get_unit_property(self, unit: str, property: str, user: str | None = None) -> str:
        raise _model_only()

    def require_unit_state(self, unit: str, require_state: str = "active") -> None:
        raise _model_only()

    def succeed(self, *commands: str, timeout: int | None = None) -> str:
        raise _model_only()

    def fail(self, *commands: str, timeout: int | None = None) -> str:
        raise _model_only()

    def wait_until_succeeds(self, command: str, timeout: int = 900) -> str:
        raise _model_only()

    def wait_until_fails(self, command: str, timeout: int = 900) -> str:
        raise _model_only()

    def sleep(self, secs: int) -> None:
        raise _model_only()

    def wait_for_file(self, filename: str, timeout: int = 900) -> None:
        raise _model_only()

    def wait_for_open_port(self, port: int, addr: str = "localhost", timeout: int = 900) -> None:
        raise _model_only()

    def wait_for_open_unix_socket(
        self, addr: str, is_datagram: bool = False, timeout: int = 900
    ) -> None:
        raise _model_only()

    def wait_for_closed_port(self, port: int, addr: str = "localhost", timeout: int = 900) -> None:
        raise _model_only()

    def start_job(self, jobname: str, user: str | None = None) -> tuple[int, str]:
        raise _model_only()

    def stop_job(self, jobname: str, user: str | None = None) -> tuple[int, str]:
        raise _model_only()

    def execute(
        self,
        command: str,
        check_return: bool = True,
        check_output: bool = True,
        timeout: int | None = 900,
    ) -> tuple[int, str]:
        raise _model_only()

    def copy_from_machine(self, source: str, target_dir: str = "") -> None:
        raise _model_only()

    def copy_from_vm(self, source: str, target_dir: str = "") -> None:
        raise _model_only()

    def copy_from_host_via_shell(self, source: str, target: str) -> None:
        raise _model_only()

    def copy_from_host(self, source: str, target: str) -> None:
        raise _model_only()


class QemuMachine(BaseMachine):
    booted: bool
    connected: bool
    pid: int | None

    def ssh_backdoor_command(self, index: int) -> str:
        raise _model_only()

    def send_monitor_command(self, command: str) -> str:
        raise _model_only()

    def get_tty_text(self, tty: str) -> str:
        raise _model_only()

    def wait_until_tty_matches(self, tty: str, regexp: str, timeout: int = 900) -> None:
        raise _model_only()

    def dump_tty_contents(self, tty: str) -> None:
        raise _model_only()

    def shell_interact(self, address: str | None = None) -> None:
        raise _model_only()

    def console_interact(self) -> None:
        raise _model_only()

    def wait_for_qmp_event(
        self, event_filter: Callable[[dict[str, Any]], bool], timeout: int = 60 * 10
    ) -> dict[str, Any]:
        raise _model_only()

    def send_chars(self, chars: str, delay: float | None = 0.01) -> None:
        raise _model_only()

    def connect(self) -> None:
        raise _model_only()

    def screenshot(self, filename: str) -> None:
        raise _model_only()

    def get_screen_text_variants(self) -> list[str]:
        raise _model_only()

    def get_screen_text(self) -> str:
        raise _model_only()

    def wait_for_text(self, regex: str, timeout: int = 900) -> None:
        raise _model_only()

    def wait_for_console_text(self, regex: str, timeout: int | None = None) -> None:
        raise _model_only()

    def get_console_log(self) -> str:
        raise _model_only()

    def send_key(self, key: str, delay: float | None = 0.01, log: bool | None = True) -> None:
        raise _model_only()

    def send_console(self, chars: str) -> None:
        raise _model_only()

    def start(self, allow_reboot: bool = False) -> None:
        raise _model_only()

    def shutdown(self) -> None:
        raise _model_only()

    def crash(self) -> None:
        raise _model_only()

    def reboot(self) -> None:
        raise _model_only()

    def wait_for_x(self, timeout: int = 900) -> None:
        raise _model_only()

    def get_window_names(self) -> list[str]:
        raise _model_only()

    def wait_for_window(self, regexp: str, timeout: int = 900) -> None:
        raise _model_only()

    def forward_port(self, host_port: int = 8080, guest_port: int = 80) -> None:
        raise _model_only()

    def block(self) -> None:
        raise _model_only()

    def unblock(self) -> None:
        raise _model_only()

    def release(self) -> None:
        raise _model_only()

    def switch_root(self) -> None:
        raise _model_only()


class NspawnMachine(BaseMachine):
    def start(self) -> None:
        raise _model_only()

    def release(self) -> None:
        raise _model_only()


class Driver:
    out_dir: Path
    global_timeout: int
    race_timer: threading.Timer
    logger: AbstractLogger
    vlans: list[VLan]
    machines_qemu: list[QemuMachine]
    machines_nspawn: list[NspawnMachine]


class AssertionTester(TestCase):
    pass


def driver_binds() -> Any:
    """What the driver binds when it runs the script (its exec() globals).

    nixpkgs declares these names (`name: Type`) without a value; ty reports a name that
    is declared but never bound as unresolved and then checks nothing done with it
    (astral-sh/ty#1527, closed as intended), so the model binds each one, typed as
    declared. scriptlint's node lines do the same (vmtest.scriptlint.compose)."""
    raise _model_only()


# The globals a test script sees (Driver.test_symbols), minus the node names,
# which scriptlint declares per script.
start_all: Callable[[], None] = driver_binds()
test_script: Callable[[], None] = driver_binds()
run_tests: Callable[[], None] = driver_binds()
join_all: Callable[[], None] = driver_binds()
serial_stdout_off: Callable[[], None] = driver_binds()
serial_stdout_on: Callable[[], None] = driver_binds()
machines_qemu: list[QemuMachine] = driver_binds()
machines_nspawn: list[NspawnMachine] = driver_binds()
vlans: list[VLan] = driver_binds()
driver: Driver = driver_binds()
log: AbstractLogger = driver_binds()
t: AssertionTester = driver_binds()


def subtest(name: str) -> AbstractContextManager[None]:
    raise _model_only()


def retry(fn: Callable[[bool], bool], timeout_seconds: int = 900) -> None:
    raise _model_only()


def create_machine(
    start_command: str, *, name: str | None = None, keep_machine_state: bool = False
) -> BaseMachine:
    raise _model_only()


def polling_condition(
    fun_: Callable[[], Any] | None = None,
    *,
    seconds_interval: float = 2.0,
    description: str | None = None,
) -> Any:
    raise _model_only()
