"""Progress output: plain lines when stderr is not a terminal, rich status on a TTY."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ref, requires_nix, vmtest_argv
from vmtest.checks.progress import PlainDisplay, short
from vmtest.nix.logevents import (
    BuildFailed,
    BuildFailure,
    BuildStarted,
    BuildStopped,
    Progress,
    SubtestFinished,
    VmBooted,
)

DRV = "/nix/store/43arx3zyfv7lmfd4c6ml20672m7h43cg-vm-service-test.drv"


def test_plain_lines() -> None:
    out = io.StringIO()
    display = PlainDisplay(out)
    progress = Progress(builds_done=1, builds_expected=3)
    display.phase("evaluating checks.x86_64-linux.vm-service-test")
    display.event(BuildStarted(DRV), progress)
    display.event(VmBooted(DRV, "server", None), progress)  # no "starting vm" seen
    display.event(VmBooted(DRV, "client", 70.25), progress)
    display.event(SubtestFinished(DRV, "docker runs", False, 0.4, "exit code 125"), progress)
    display.event(BuildFailed(BuildFailure(DRV, 1, "builder failed")), progress)
    display.event(BuildStopped(DRV), progress)
    lines = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "evaluating checks.x86_64-linux.vm-service-test",
        "building vm-service-test",
        "  server: shell connected",
        "  client: shell connected 70.2 s after VM start",
        "  subtest 'docker runs' FAILED: exit code 125 in 0.4 s",
        "FAILED vm-service-test (exit code 1) (1 of 3 derivations built)",
        "finished vm-service-test (1 of 3 derivations built)",
    ]
    assert short("/nix/store/abc-name-with-dashes.drv") == "name-with-dashes"


@requires_nix
def test_rich_status_on_a_terminal(flake: Path, nix_env: dict[str, str]) -> None:
    """With stderr on a pseudo-terminal the live status shows what builds and N of M."""
    master, slave = pty.openpty()
    env = {**nix_env, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        vmtest_argv("run", "passing", "vm-test-suite", "--allow-tcg", "--flake", ref(flake)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout
    text = seen.decode(errors="replace")
    assert "\x1b[" in text  # styled, live output
    assert "derivations built" in text
    assert "subtest 'docker runs a container' passed" in text
    assert "vmtest: passed" in stdout


def test_rich_display_prints_nix_text_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    from vmtest.checks.progress import RichDisplay

    display = RichDisplay()
    display.phase("vm: evaluation failed: [vm-aarch64] path [/nix/store/x] is missing")
    display.close()
    assert "[vm-aarch64] path [/nix/store/x] is missing" in capsys.readouterr().err


def test_counts_include_paths_fetched_from_caches() -> None:
    from vmtest.checks.progress import counts

    assert counts(Progress()) == ""
    assert counts(Progress(builds_done=1, builds_expected=3)) == "1 of 3 derivations built"
    assert (
        counts(Progress(builds_done=0, builds_expected=2, copies_done=40, copies_expected=95))
        == "0 of 2 derivations built, 40 of 95 paths fetched"
    )
    assert counts(Progress(builds_done=2, builds_expected=3, builds_failed=1)) == (
        "2 of 3 derivations built, 1 failed"
    )


@requires_nix
def test_boot_time_is_vm_start_to_shell_connected(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """The client boots in parallel: the driver's 0.00 s is the script's wait, not its boot."""
    from conftest import check_by_name, load_json, run_vmtest

    report = tmp_path / "r.json"
    res = run_vmtest(
        ["run", "vm-parallel-boot", "--flake", ref(flake), "--report", str(report)], nix_env
    )
    assert res.returncode == 0, res.output
    assert "client: booted in 0.0 s" not in res.stderr
    client = next(line for line in res.stderr.splitlines() if "client: shell connected" in line)
    seconds = float(client.split("connected ", 1)[1].split(" s after", 1)[0])
    assert seconds >= 1.0
    boot = check_by_name(load_json(report), "vm-parallel-boot")["phases"]["boot"]
    assert boot is not None and boot >= 1.0
