"""What a build would do: `nix-store --realise --dry-run` per check, parsed (cache awareness).

Nix prints (on stderr, Nix 2.8 as seen here, same shape in 2.26): "these 2 derivations
will be built:" or "this derivation will be built:" then one indented store path a
line, and likewise "these N paths will be fetched (X MiB download, Y MiB unpacked):" /
"this path will be fetched ...". Nothing at all when every output is valid already.
The legacy command reads the same on every Nix version and evaluates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from vmtest.nix import process
from vmtest.nix.argv import NixOptions, dry_run_argv

_HEADING = re.compile(r"^(?:these \d+ |this )(?P<what>derivations?|paths?) will be (?P<how>\w+)")
_PATH = re.compile(r"^\s+(?P<path>/\S+)$")


@dataclass(frozen=True)
class Plan:
    """What building one derivation needs: derivations to build, paths to fetch."""

    to_build: tuple[str, ...]
    to_fetch: tuple[str, ...]

    @property
    def built(self) -> bool:
        """True when its outputs are in the store already (nothing to build or fetch)."""
        return not self.to_build and not self.to_fetch


def parse_dry_run(lines: Sequence[str]) -> Plan:
    """The derivations and paths a dry run listed."""
    build: list[str] = []
    fetch: list[str] = []
    target: list[str] | None = None
    for line in lines:
        if m := _HEADING.match(line):
            target = build if m["how"] == "built" else fetch if m["how"] == "fetched" else None
        elif (m := _PATH.match(line)) and target is not None:
            target.append(m["path"])
        else:
            target = None
    return Plan(tuple(build), tuple(fetch))


def plan(drv: str, opts: NixOptions, timeout: float | None) -> Plan | None:
    """The plan of building `drv`, or None when nix could not tell (store unreachable)."""
    lines: list[str] = []  # all of them: a NixOS closure lists thousands of paths
    done = process.run(dry_run_argv(drv, opts), timeout=timeout, on_stderr_line=lines.append)
    return parse_dry_run(lines) if done.returncode == 0 else None


def plans(drvs: Sequence[str], opts: NixOptions, timeout: float | None) -> dict[str, Plan]:
    """`plan` of each derivation (side by side: each is one nix start-up)."""
    unique = list(dict.fromkeys(drvs))
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(unique)))) as pool:
        try:
            found = list(pool.map(lambda d: plan(d, opts, timeout), unique))
        except BaseException:  # Ctrl-C or a timeout: stop the other threads' children too
            with process.stopping():
                pool.shutdown(wait=True, cancel_futures=True)
            raise
    return {d: p for d, p in zip(unique, found, strict=True) if p is not None}
