"""The suite report and the probes' recorder (tests/e2e/report/vmtest_e2e.py), run as Nix runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from nixeval import REPO

TOOL = REPO / "tests/e2e/report/vmtest_e2e.py"
EXPECTED = {
    "checks": [
        {"name": "vm-build-test", "subtests": ["builds", "has sshd"]},
        {"name": "vm-service-test", "subtests": ["sshd up", "key login", "root refused"]},
        {"name": "vm-execution-test", "subtests": ["boots", "powers off"]},
    ]
}


def sub(name: str, status: str, error: str | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "error": error, "durationSeconds": 1.5}


def case(name: str, subtests: list[dict[str, Any]], error: str | None = None) -> dict[str, Any]:
    failed = error is not None or any(s["status"] != "passed" for s in subtests)
    status = "failed" if failed else "passed"
    return {"name": name, "status": status, "error": error, "subtests": subtests}


def write(path: Path, cases: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"schemaVersion": 1, "cases": cases}))
    return path


def run(tmp_path: Path, results: list[Path]) -> subprocess.CompletedProcess[str]:
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps(EXPECTED))
    argv = [sys.executable, str(TOOL), "--expected", str(expected), "--results"]
    argv += [str(r) for r in results]
    argv += ["--out", str(tmp_path / "out"), "--report-dir", str(tmp_path / "report")]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def all_passing(tmp_path: Path) -> list[Path]:
    probe = write(
        tmp_path / "probe.json",
        [case("vm-build-test", [sub("builds", "passed"), sub("has sshd", "passed")])],
    )
    boot = write(
        tmp_path / "boot.json",
        [
            case(
                "vm-service-test",
                [
                    sub("sshd up", "passed"),
                    sub("key login", "passed"),
                    sub("root refused", "passed"),
                ],
            ),
            case("vm-execution-test", [sub("boots", "passed"), sub("powers off", "passed")]),
        ],
    )
    return [probe, boot]


def test_all_passed_suite_exits_0_and_reports_each_subtest(tmp_path: Path) -> None:
    proc = run(tmp_path, all_passing(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "out").read_text()
    assert text == proc.stdout
    assert text.startswith("vm-test-suite: PASSED (3 of 3 checks passed)\n")
    assert "PASSED  vm-service-test (3/3 subtests passed)" in text
    assert "    ok       key login (1.5s)" in text
    report = json.loads((tmp_path / "report/report.json").read_text())
    assert report["status"] == "passed"
    assert report["summary"] == {"checks": 3, "passed": 3, "failed": 0}


def test_failed_subtest_fails_its_check_only_and_later_subtests_are_not_run(
    tmp_path: Path,
) -> None:
    probe, _ = all_passing(tmp_path)
    error = "RequestedAssertionFailed: command `ssh` failed (exit code 255)"
    boot = write(
        tmp_path / "boot.json",
        [
            case(
                "vm-service-test",
                [sub("sshd up", "passed"), sub("key login", "failed", error)],
                error,
            ),
            case("vm-execution-test", [sub("boots", "passed"), sub("powers off", "passed")]),
        ],
    )
    proc = run(tmp_path, [probe, boot])
    assert proc.returncode == 1
    text = proc.stdout
    assert text.startswith("vm-test-suite: FAILED (2 of 3 checks passed)\n")
    # Failures first; the failing subtest's error; the rest marked not-run, never ok.
    assert text.index("FAILED  vm-service-test (1/3") < text.index("PASSED  vm-build-test")
    assert "    FAILED   key login (1.5s)\n             " + error in text
    assert "    not-run  root refused\n" in text
    assert "PASSED  vm-execution-test (2/2 subtests passed)" in text
    checks = json.loads((tmp_path / "report/report.json").read_text())["checks"]
    service = next(c for c in checks if c["name"] == "vm-service-test")
    assert [s["status"] for s in service["subtests"]] == ["passed", "failed", "not-run"]
    suites = ET.parse(tmp_path / "report/junit.xml").getroot()
    assert suites.get("failures") == "1"
    assert suites.get("skipped") == "1"
    service_xml = next(s for s in suites if s.get("name") == "vm-service-test")
    cases = {c.get("name"): c for c in service_xml}
    failure = cases["key login"].find("failure")
    assert failure is not None
    assert failure.get("message") == error
    assert cases["root refused"].find("skipped") is not None
    assert len(cases["sshd up"]) == 0


def test_a_check_without_results_fails_as_not_run(tmp_path: Path) -> None:
    probe, _ = all_passing(tmp_path)
    boot = write(
        tmp_path / "boot.json",
        [
            case(
                "vm-service-test",
                [sub(n, "passed") for n in ["sshd up", "key login", "root refused"]],
            )
        ],
    )
    proc = run(tmp_path, [probe, boot])
    assert proc.returncode == 1
    assert "FAILED  vm-execution-test (0/2 subtests passed)" in proc.stdout
    assert "    not-run  boots\n" in proc.stdout
    assert "error: no result recorded: the check did not run" in proc.stdout


def test_a_check_whose_results_still_say_running_fails(tmp_path: Path) -> None:
    probe, _ = all_passing(tmp_path)
    service = case("vm-service-test", [sub(n, "passed") for n in ["sshd up", "key login"]])
    service["subtests"].append({**sub("root refused", "running"), "durationSeconds": None})
    service["status"] = "running"
    execution = case("vm-execution-test", [sub("boots", "passed"), sub("powers off", "passed")])
    execution["status"] = "running"  # every subtest ended, but no verdict was given
    proc = run(tmp_path, [probe, write(tmp_path / "boot.json", [service, execution])])
    assert proc.returncode == 1
    assert proc.stdout.startswith("vm-test-suite: FAILED (1 of 3 checks passed)\n")
    assert "    FAILED   root refused\n" in proc.stdout
    assert "FAILED  vm-execution-test (2/2 subtests passed)" in proc.stdout
    assert "error: the check did not finish: its results say 'running'" in proc.stdout


def test_error_outside_subtests_fails_the_check_even_if_all_subtests_passed(
    tmp_path: Path,
) -> None:
    probe, _ = all_passing(tmp_path)
    subs = [sub(n, "passed") for n in ["sshd up", "key login", "root refused"]]
    boot = write(
        tmp_path / "boot.json",
        [
            case("vm-service-test", subs, "NameError: name 'x' is not defined"),
            case("vm-execution-test", [sub("boots", "passed"), sub("powers off", "passed")]),
        ],
    )
    proc = run(tmp_path, [probe, boot])
    assert proc.returncode == 1
    assert "FAILED  vm-service-test (3/3 subtests passed)" in proc.stdout
    assert "    error: NameError: name 'x' is not defined" in proc.stdout


def test_probe_recorder_runs_every_subtest_then_fails_naming_the_failure(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from vmtest_e2e import Recorder\n"
        "recorder = Recorder('vm-build-test')\n"
        "with recorder.subtest('builds'):\n"
        "    assert False, 'no init'\n"
        "with recorder.subtest('has sshd'):\n"
        "    pass\n"
        "raise SystemExit(recorder.finish(Path(sys.argv[1])))\n"
    )
    results = tmp_path / "results.json"
    env = {"PYTHONPATH": str(TOOL.parent)}
    argv = [sys.executable, str(script), str(results)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 1  # the probe's build fails: no output, nothing cached
    # The driver's line shapes, and the verdict as the last lines of the log.
    assert done.stdout.splitlines() == [
        "subtest: builds",
        '!!! Test "builds" failed with error: "AssertionError: no init"',
        "subtest: has sshd",
        done.stdout.splitlines()[3],
        'vmtest: vm-build-test: FAILED subtest "builds":',
        "vmtest:   AssertionError: no init",
    ]
    assert done.stdout.splitlines()[3].startswith("(finished: subtest: has sshd, in ")
    (recorded,) = json.loads(results.read_text())["cases"]
    assert recorded["status"] == "failed"
    assert [(s["name"], s["status"]) for s in recorded["subtests"]] == [
        ("builds", "failed"),
        ("has sshd", "passed"),
    ]
    assert recorded["subtests"][0]["error"] == "AssertionError: no init"
