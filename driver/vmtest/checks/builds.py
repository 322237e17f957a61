"""Builds each check in a `nix build` of its own, side by side (as nix-fast-build does).

One process per check gives each its own log, start and stop, exit code, failure
message and timeout: Nix holds back a build's stop event and failure message until
the whole `nix build` ends, so in one process for many checks every check would end
when the slowest one does. Nix's own locks share what the checks have in common (a
derivation another process is building is waited for, not built twice). At most `jobs`
builds run at once. A check that depends on another selected check (a suite on its
booted checks) starts once that one ended, and is not built when it did not pass:
Nix would only build the failing dependency again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from vmtest.checks.decide import CheckRun
from vmtest.nix import process

#: Runs one check's build to its end (in a worker thread); sets `CheckRun.build`.
BuildOne = Callable[[CheckRun], None]


def default_jobs() -> int:
    """Builds at once: one per core (nix-fast-build's default), at least two."""
    return max(2, os.cpu_count() or 1)


def passed(r: CheckRun) -> bool:
    """Its build ended by itself with exit 0 (its outputs are in the store)."""
    build = r.build
    done = build.done if build is not None else None
    return (
        build is not None
        and build.ending is None
        and build.refusal is None
        and done is not None
        and done.returncode == 0
    )


class Scheduler:
    """Starts each check's build when a slot is free and its selected dependencies ended;
    none after the deadline."""

    def __init__(self, build_one: BuildOne, jobs: int, deadline: float | None) -> None:
        self.build_one = build_one
        self.jobs = max(1, jobs)
        self.deadline = deadline
        #: Set before the builds still running are stopped (they are cut short, not failed).
        self.stopping = False

    def run(self, runs: list[CheckRun]) -> list[CheckRun]:
        """Build `runs`; returns those never started because the deadline passed.

        On Ctrl-C (or an error in a build) every build still running is stopped and
        none is started before the exception goes on."""
        deps = {id(r): [d for d in runs if d is not r and d.drv in _needs(r)] for r in runs}
        waiting, ended = list(runs), set[int]()
        running: dict[Future[None], CheckRun] = {}
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="nix-build")
        try:
            while waiting or running:
                if not self._past_deadline():
                    self._start_ready(waiting, deps, ended, running, pool)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    ended.add(id(running.pop(future)))
                    future.result()  # an error of the build (e.g. exit 3) ends the run
        except BaseException:
            self.stopping = True
            with process.stopping():
                pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return waiting

    def _start_ready(
        self,
        waiting: list[CheckRun],
        deps: dict[int, list[CheckRun]],
        ended: set[int],
        running: dict[Future[None], CheckRun],
        pool: ThreadPoolExecutor,
    ) -> None:
        """Start what can start; a check blocked by a dependency that did not pass ends
        at once (and may unblock others: look again until nothing changes)."""
        changed = True
        while changed:
            changed = False
            for r in list(waiting):
                if len(running) >= self.jobs:
                    return
                if any(id(d) not in ended for d in deps[id(r)]):
                    continue
                waiting.remove(r)
                changed = True
                r.blocked_by = next((d for d in deps[id(r)] if not passed(d)), None)
                if r.blocked_by is not None:
                    ended.add(id(r))
                else:
                    running[pool.submit(self.build_one, r)] = r

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def _needs(r: CheckRun) -> tuple[str, ...]:
    """The derivations building `r` builds (its dry run's list; empty when unknown)."""
    return r.plan.to_build if r.plan is not None else ()
