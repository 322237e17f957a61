# ruff: noqa: F821  (subtest, driver, log are driver globals; scriptlint checks them)
# vmtest suite runner, the head of the one test script that runs the four booted
# checks in a single driver run (tests/e2e/nixos-vm-test.nix puts each script of
# tests/e2e/scripts/ under `with vmtest_case("<check>"):` after this file).
#
# Failure semantics: a failing subtest ends its own check's script (like any
# NixOS test), is recorded as failed, and the next check's script still runs;
# subtests after it are never marked passed: the judges report them "not-run".
# Results go to $out/vmtest-results.json; the run itself only fails when the
# driver does (no boot, global timeout), and then every booted check fails.
import json
import time
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


class Expected:
    """Facts of the evaluated configurations, filled in by nixos-vm-test.nix."""

    check_system: str = "@check_system@"
    uname_machine: str = "@uname_machine@"
    vm_system: str = "@vm_system@"
    node_system: str = "@node_system@"
    aarch64_system: str = "@aarch64_system@"
    aarch64_toplevel_drv: str = "@aarch64_toplevel_drv@"
    hostname: str = "@hostname@"
    test_user: str = "@test_user@"
    server_address: str = "@server_address@"
    ssh_private_key: str = "@ssh_private_key@"
    docker_image: str = "@docker_image@"
    docker_image_ref: str = "@docker_image_ref@"
    docker_image_output: str = "@docker_image_output@"
    toplevel: str = "@toplevel@"
    state_version: str = "@state_version@"
    configured_state_version: str = "@configured_state_version@"
    os_id: str = "@os_id@"
    os_version_id: str = "@os_version_id@"
    os_build_id: str = "@os_build_id@"
    failed_assertions: list[str] = json.loads("@failed_assertions_json@")
    warnings: list[str] = json.loads("@warnings_json@")


_vmtest_cases: list[dict[str, Any]] = []
# The driver's subtest logs a failure with logger.log_test_error and re-raises
# (test_driver/driver.py at 003d58163f46; logger.py at 0348869915cd: only
# CompositeLogger.error calls sys.exit, log_test_error does not), so the failure
# reaches vmtest_case below as an Exception. Drivers before nixpkgs PR #390996
# (25.05) logged it with logger.error, which exits: there one failing subtest
# would end the whole run. The flake pins nixos-26.05.
_vmtest_driver_subtest = subtest


def _vmtest_write_results() -> None:
    results = {"schemaVersion": 1, "cases": _vmtest_cases}
    path = driver.out_dir / "vmtest-results.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def _vmtest_error(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()


@contextmanager
def _vmtest_recording_subtest(name: str) -> Iterator[None]:
    record: dict[str, Any] = {"name": name, "status": "failed", "error": None}
    if _vmtest_cases and _vmtest_cases[-1]["status"] == "running":
        _vmtest_cases[-1]["subtests"].append(record)
    tic = time.monotonic()
    try:
        with _vmtest_driver_subtest(name):
            yield
    except BaseException as exc:
        record["error"] = _vmtest_error(exc)
        raise
    else:
        record["status"] = "passed"
    finally:
        record["durationSeconds"] = round(time.monotonic() - tic, 3)


def _vmtest_subtest(name: str) -> AbstractContextManager[None]:
    return _vmtest_recording_subtest(name)


# Every `with subtest(...)` below goes through the recorder, then the driver.
globals()["subtest"] = _vmtest_subtest


@contextmanager
def vmtest_case(name: str) -> Iterator[None]:
    case: dict[str, Any] = {"name": name, "status": "running", "error": None, "subtests": []}
    _vmtest_cases.append(case)
    tic = time.monotonic()
    try:
        yield
    except Exception as exc:  # noqa: BLE001  (any failure of one check's script)
        # Recorded, not re-raised, so the next check's script still runs.
        case["error"] = _vmtest_error(exc)
        log.info(f"vmtest: {name} stopped: {case['error']}")
    finally:
        failed = case["error"] is not None or any(s["status"] != "passed" for s in case["subtests"])
        case["status"] = "failed" if failed else "passed"
        case["durationSeconds"] = round(time.monotonic() - tic, 3)
        _vmtest_write_results()
