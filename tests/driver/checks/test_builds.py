"""The order and the number of side-by-side builds (`checks.builds.Scheduler`), with a
build function that records what it was asked to build instead of running nix."""

from __future__ import annotations

import threading
import time

from vmtest.checks.builds import Scheduler
from vmtest.checks.decide import BuildRun, CheckRun
from vmtest.checks.manifest import Check
from vmtest.nix.dryrun import Plan
from vmtest.nix.logparse import LogParser
from vmtest.nix.process import Completed


def check_run(name: str, needs: tuple[str, ...] = ()) -> CheckRun:
    check = Check(
        name=name,
        attr=f"checks.x86_64-linux.{name}",
        tier="quick",
        systems=["x86_64-linux"],
        requiresKvm=False,
        timeoutSeconds=30,
        description=name,
        subtests=[],
    )
    drv = f"/nix/store/{'a' * 32}-{name}.drv"
    return CheckRun(check, check.attr, drv=drv, plan=Plan((drv, *needs), ()))


class Builds:
    """Records each build and how many ran at once; `fails` end with exit 1."""

    def __init__(self, fails: tuple[str, ...] = (), hold: threading.Event | None = None) -> None:
        self.fails = fails
        self.hold = hold
        self.order: list[str] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, r: CheckRun) -> None:
        with self.lock:
            self.order.append(r.check.name)
            self.running += 1
            self.most = max(self.most, self.running)
        if self.hold is not None:
            self.hold.wait(10)
        code = 1 if r.check.name in self.fails else 0
        r.build = BuildRun(LogParser(), 0.0, 0.0, Completed([], code, "", [], 0.0))
        with self.lock:
            self.running -= 1


def test_no_more_builds_at_once_than_jobs() -> None:
    hold = threading.Event()
    builds = Builds(hold=hold)
    runs = [check_run(n) for n in ("a", "b", "c", "d")]
    thread = threading.Thread(target=Scheduler(builds, 2, None).run, args=(runs,))
    thread.start()
    deadline = time.monotonic() + 10
    while len(builds.order) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert builds.order == ["a", "b"]  # c and d wait for a free slot
    hold.set()
    thread.join(10)
    assert builds.order[2:] == ["c", "d"] and builds.most == 2


def test_a_check_waits_for_the_selected_check_it_depends_on() -> None:
    boot = check_run("boot")
    suite = check_run("suite", needs=(boot.drv or "",))
    builds = Builds()
    assert Scheduler(builds, 4, None).run([suite, boot]) == []
    assert builds.order == ["boot", "suite"]
    assert suite.blocked_by is None


def test_a_check_whose_selected_dependency_failed_is_not_built() -> None:
    boot = check_run("boot")
    suite = check_run("suite", needs=(boot.drv or "",))
    outer = check_run("outer", needs=(suite.drv or "",))
    builds = Builds(fails=("boot",))
    assert Scheduler(builds, 4, None).run([outer, suite, boot]) == []
    assert builds.order == ["boot"]
    assert suite.blocked_by is boot and outer.blocked_by is suite


def test_nothing_starts_after_the_deadline() -> None:
    builds = Builds()
    runs = [check_run("a"), check_run("b")]
    assert Scheduler(builds, 2, time.monotonic() - 1).run(runs) == runs
    assert builds.order == []
