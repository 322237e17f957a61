"""`make bench`: start-up time, quick-tier overhead and log-parsing throughput, side by side.

Prints each goal next to what was measured on this machine. Rows that cannot run
here say so ("not available: <why>") instead of printing a number.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STARTUP_RUNS = 15
QUICK_RUNS = 11
LOG_MB = 100
NIX_CONFIG = "experimental-features = nix-command flakes\nsubstituters =\nbuild-users-group ="


def median_seconds(argv: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of `runs` runs of argv (output discarded); raises on failure."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row(name: str, goal: str, measured: str, verdict: str) -> None:
    print(f"{name:<58} {goal:<11} {measured:<48} {verdict}")


# ------------------------------------------------------------------- start-up


def bench_startup() -> None:
    vmtest = BIN / "vmtest"
    if importlib.util.find_spec("vmtest.cli.app") is None or not vmtest.exists():
        row("vmtest --help start-up", "< 150 ms", "not available: no vmtest.cli.app", "-")
        return
    python = median_seconds([sys.executable, "-c", "pass"], STARTUP_RUNS)
    help_time = median_seconds([str(vmtest), "--help"], STARTUP_RUNS)
    ok = "ok" if help_time < 0.150 else "SLOW"
    row(
        "vmtest --help start-up",
        "< 150 ms",
        f"{help_time * 1000:.0f} ms (bare python {python * 1000:.0f} ms)",
        ok,
    )
    if help_time >= 0.150:
        print("  heaviest imports of vmtest.cli.app (cumulative us, from python -X importtime):")
        for line in heaviest_imports("vmtest.cli.app"):
            print(f"    {line}")


def heaviest_imports(module: str, top: int = 8) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return [f"{us:>8} {name}" for us, name in rows[:top]]


# ------------------------------------------------------------- quick overhead


FIXTURES = ROOT / "tests" / "driver" / "fixtures" / "flakes"
# (fixture, eval cache, what the row shows). `basic` evaluates in milliseconds, so its row
# is vmtest's fixed overhead; `eval-heavy` spends about as long evaluating as a NixOS
# configuration does, with the eval cache off as after an edit of vm-shared.nix: that
# is the case the <= 1.2x goal is about.
QUICK_CASES = (
    ("basic", "", "tiny eval, warm"),
    ("eval-heavy", "\neval-cache = false", "~2 s eval, after an edit"),
)


def alternating_times(
    first: list[str], second: list[str], runs: int, env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Wall times of two commands run alternately, so drift hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for argv, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            subprocess.run(argv, check=True, env=env, capture_output=True)
            bucket.append(time.perf_counter() - start)
    return times


def bench_quick() -> None:
    name, goal = "vmtest quick / bare nix build", "<= 1.2x"
    vmtest = BIN / "vmtest"
    if shutil.which("nix") is None:
        row(name, goal, "not available: no nix on PATH", "-")
        return
    if not vmtest.exists():
        row(name, goal, "not available: no vmtest in the venv", "-")
        return
    env = {**os.environ, "NIX_CONFIG": NIX_CONFIG}
    system = subprocess.run(
        ["nix", "eval", "--impure", "--raw", "--expr", "builtins.currentSystem"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    for fixture, extra_config, label in QUICK_CASES:
        with tempfile.TemporaryDirectory() as tmp:
            flake = Path(tmp) / "flake"
            shutil.copytree(FIXTURES / fixture, flake)
            ref = f"path:{flake}"
            bare = ["nix", "build", "--no-link", f"{ref}#checks.{system}.unit-vm-analysis"]
            ours = [str(vmtest), "quick", "--flake", ref]
            run_env = {**env, "NIX_CONFIG": NIX_CONFIG + extra_config}
            try:
                subprocess.run(bare, check=True, env=run_env, capture_output=True)
                ours_times, bare_times = alternating_times(ours, bare, QUICK_RUNS, run_env)
            except subprocess.CalledProcessError as exc:
                row(name, goal, f"not available: {exc.cmd[0]} exited {exc.returncode}", "-")
                return
        # Evaluation times on a shared 2-core machine swing by a second from run to run;
        # noise only adds time, so the verdict compares the fastest runs (medians shown).
        t_ours, t_bare = min(ours_times), min(bare_times)
        ratio = t_ours / t_bare
        medians = statistics.median(ours_times) / statistics.median(bare_times)
        measured = (
            f"{ratio:.2f}x ({t_ours * 1000:.0f} vs {t_bare * 1000:.0f} ms; medians {medians:.2f}x)"
        )
        verdict = "ok" if ratio <= 1.2 else "SLOW"
        if fixture == "basic":
            measured += f", +{(t_ours - t_bare) * 1000:.0f} ms"
            verdict = "(overhead)"
        row(f"{name} ({label})", goal, measured, verdict)


# ---------------------------------------------------------------- log parsing


def generate_log(path: Path, megabytes: int) -> int:
    """A realistic internal-json log: mostly build log lines, progress, driver lines."""
    rng = random.Random(42)
    target = megabytes * 1024 * 1024
    written = 0
    act = 1000
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            act += 1
            drv = f"/nix/store/{act:032d}-pkg-{act}.drv"
            chunk = [
                _nix(
                    "start",
                    id=act,
                    level=3,
                    type=105,
                    text=f"building '{drv}'",
                    fields=[drv, "", 1, 1],
                ),
            ]
            for i in range(rng.randint(200, 2000)):
                if i % 50 == 0:
                    chunk.append(_nix("result", id=1, type=105, fields=[act - 1000, 99999, 2, 0]))
                line = (
                    f"subtest: step {i}"
                    if i % 97 == 0
                    else f"machine: \x1b[1m\x1b[32mwaiting for unit unit-{i}.service\x1b[0m"
                    if i % 31 == 0
                    else f"gcc -O2 -c src/file{i}.c -o build/file{i}.o -Iinclude -DVERSION={i}"
                )
                chunk.append(_nix("result", id=act, type=101, fields=[line]))
            chunk.append(_nix("stop", id=act))
            text = "".join(chunk)
            out.write(text)
            written += len(text.encode())
    return written


def _nix(action: str, **fields: object) -> str:
    return "@nix " + json.dumps({"action": action, **fields}, separators=(",", ":")) + "\n"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def bench_parse() -> None:
    from vmtest.nix.logparse import LogParser

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "big.jsonl"
        size = generate_log(log, LOG_MB)
        parser = LogParser()
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        with log.open("rb") as handle:
            for line in handle:
                parser.feed(line)
        elapsed = time.perf_counter() - start
        rss_after = peak_rss_mb()
    mb_s = size / (1024 * 1024) / elapsed
    row(
        "internal-json parsing throughput",
        ">= 50 MB/s",
        f"{mb_s:.0f} MB/s ({size / 2**20:.0f} MB, {parser.lines_seen} lines, {elapsed:.1f} s)",
        "ok" if mb_s >= 50 else "SLOW",
    )
    kept = parser.derivations()
    row(
        "  peak RSS before -> after parse",
        "flat",
        f"{rss_before:.0f} MB -> {rss_after:.0f} MB",
        "ok" if rss_after - rss_before < 50 else "GREW",
    )
    row(
        "  state kept after parse",
        "bounded",
        f"{len(kept)} drvs, <= {max(len(d.tail) for d in kept)} tail lines each",
        "ok",
    )


def main() -> int:
    print(f"{'benchmark':<58} {'goal':<11} {'measured':<48} verdict")
    benches: list[Callable[[], None]] = [bench_startup, bench_quick, bench_parse]
    for bench in benches:
        bench()
    return 0


if __name__ == "__main__":
    sys.exit(main())
