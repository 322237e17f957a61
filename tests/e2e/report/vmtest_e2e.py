"""Results of the full-tier checks: the probes' recorder and the suite report.

Standard library only: it runs inside Nix builds with a bare python3.

Input, one results file per check (written as subtests end, by tests/e2e/script-header.py
inside a booted check's driver run, or by a probe through `Recorder`):

    {"schemaVersion": 1,
     "cases": [{"name": "<check>", "status": "running" | "passed" | "failed",
                "error": str | null, "durationSeconds": float,
                "subtests": [{"name": str, "status": "running" | "passed" | "failed",
                              "error": str | null, "durationSeconds": float | null}]}]}

("running" until the verdict: a file read while the check runs, or left by a driver
killed before its verdict, is never a pass.)

Output of the suite, report.json (sorted keys):

    {"schemaVersion": 1, "suite": "vm-test-suite", "status": "passed" | "failed",
     "summary": {"checks": int, "passed": int, "failed": int},
     "checks": [{"name": str, "status": "passed" | "failed", "error": str | null,
                 "durationSeconds": float | null,
                 "subtests": [{"name": str, "status": "passed" | "failed" | "not-run",
                               "error": str | null, "durationSeconds": float | null}]}]}

The suite only builds when all six checks built, and a check only builds when every one
of its subtests passed; the report still checks each result against the subtests the
manifest lists (a listed subtest without a record is "not-run", never passed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

SCHEMA_VERSION = 1
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Recorder:
    """Records a probe's subtests: a failing one is recorded and the next one still runs;
    `finish` writes the results and returns 1 if any failed (the probe's build fails).

    It prints the NixOS test driver's own line shapes (logger.py @ 0348869915cd:
    `subtest: NAME`, `(finished: subtest: NAME, in S seconds)`, and Driver.subtest's
    `!!! Test "NAME" failed with error: "E"`), so one parser reads probes and tests."""

    def __init__(self, check: str) -> None:
        self.case: dict[str, Any] = {"name": check, "status": "running", "error": None}
        self.case["subtests"] = []
        self._tic = time.monotonic()

    @contextmanager
    def subtest(self, name: str) -> Iterator[None]:
        record: dict[str, Any] = {"name": name, "status": "failed", "error": None}
        self.case["subtests"].append(record)
        tic = time.monotonic()
        print(f"subtest: {name}", flush=True)
        try:
            yield
        except Exception as exc:  # noqa: BLE001  (recorded; the probe goes on, then fails)
            record["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            first = record["error"].splitlines()[0]
            print(f'!!! Test "{name}" failed with error: "{first}"', flush=True)
        else:
            record["status"] = "passed"
            print(f"(finished: subtest: {name}, in {time.monotonic() - tic:.2f} seconds)")
        finally:
            record["durationSeconds"] = round(time.monotonic() - tic, 3)

    def finish(self, path: Path) -> int:
        failed = [s for s in self.case["subtests"] if s["status"] != "passed"]
        self.case["status"] = "failed" if failed else "passed"
        self.case["durationSeconds"] = round(time.monotonic() - self._tic, 3)
        results = {"schemaVersion": SCHEMA_VERSION, "cases": [self.case]}
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        name = self.case["name"]
        if not failed:
            print(f"vmtest: {name}: {len(self.case['subtests'])} subtests passed")
            return 0
        # The last lines of the log (Nix shows only its tail): what failed and why.
        for sub in failed:
            print(f'vmtest: {name}: FAILED subtest "{sub["name"]}":')
            print("\n".join(f"vmtest:   {line}" for line in sub["error"].splitlines()))
        return 1


def load_cases(paths: list[Path]) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for path in paths:
        data = json.loads(path.read_text())
        if data.get("schemaVersion") != SCHEMA_VERSION:
            raise ValueError(f"{path}: unsupported schemaVersion {data.get('schemaVersion')!r}")
        for case in data["cases"]:
            cases[str(case["name"])] = case
    return cases


def judge(name: str, expected: list[str], case: dict[str, Any] | None) -> dict[str, Any]:
    """One check's verdict from its recorded case and the subtests the manifest lists."""
    if case is None:
        return {
            "name": name,
            "status": "failed",
            "error": "no result recorded: the check did not run",
            "durationSeconds": None,
            "subtests": [_not_run(s) for s in expected],
        }
    recorded = {str(s["name"]): s for s in case.get("subtests", [])}
    subtests = [_subtest(recorded[s]) if s in recorded else _not_run(s) for s in expected]
    for extra in (s for s in recorded if s not in expected):
        entry = _subtest(recorded[extra])
        entry["status"] = "failed"
        entry["error"] = "ran, but the manifest does not list this subtest"
        subtests.append(entry)
    error = case.get("error")
    if error is None and case.get("status") not in ("passed", "failed"):
        # Written while the check ran (the header says "running" until its verdict).
        error = f"the check did not finish: its results say {case.get('status')!r}"
    passed = error is None and all(s["status"] == "passed" for s in subtests)
    return {
        "name": name,
        "status": "passed" if passed else "failed",
        "error": error,
        "durationSeconds": case.get("durationSeconds"),
        "subtests": subtests,
    }


def _subtest(record: dict[str, Any]) -> dict[str, Any]:
    status = "passed" if record.get("status") == "passed" else "failed"
    return {
        "name": str(record["name"]),
        "status": status,
        "error": record.get("error") if status == "failed" else None,
        "durationSeconds": record.get("durationSeconds"),
    }


def _not_run(name: str) -> dict[str, Any]:
    return {"name": name, "status": "not-run", "error": None, "durationSeconds": None}


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", _ANSI.sub("", text))


def _seconds(value: object) -> str:
    return f" ({value:.1f}s)" if isinstance(value, int | float) else ""


def render_check(check: dict[str, Any]) -> str:
    subtests = check["subtests"]
    passed = sum(1 for s in subtests if s["status"] == "passed")
    lines = [
        f"{check['status'].upper():<7} {check['name']} ({passed}/{len(subtests)} subtests passed)"
        + _seconds(check["durationSeconds"])
    ]
    marks = {"passed": "ok", "failed": "FAILED", "not-run": "not-run"}
    for sub in subtests:
        lines.append(
            f"    {marks[sub['status']]:<8} {sub['name']}" + _seconds(sub["durationSeconds"])
        )
        if sub["error"]:
            lines.extend(f"             {line}" for line in _clean(sub["error"]).splitlines()[-5:])
    if check["error"] and not any(s["error"] == check["error"] for s in subtests):
        lines.append(f"    error: {_clean(check['error']).splitlines()[-1]}")
    return "\n".join(lines) + "\n"


def render_text(suite: str, checks: list[dict[str, Any]]) -> str:
    failed = [c for c in checks if c["status"] != "passed"]
    verdict = "FAILED" if failed else "PASSED"
    head = f"{suite}: {verdict} ({len(checks) - len(failed)} of {len(checks)} checks passed)\n"
    # Failures first, then the rest in suite order.
    ordered = failed + [c for c in checks if c["status"] == "passed"]
    return head + "".join(render_check(c) for c in ordered)


def render_json(suite: str, checks: list[dict[str, Any]]) -> str:
    failed = sum(1 for c in checks if c["status"] != "passed")
    report = {
        "schemaVersion": SCHEMA_VERSION,
        "suite": suite,
        "status": "failed" if failed else "passed",
        "summary": {"checks": len(checks), "passed": len(checks) - failed, "failed": failed},
        "checks": checks,
    }
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


def render_junit(suite: str, checks: list[dict[str, Any]]) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>']
    total = sum(len(c["subtests"]) for c in checks)
    fails = sum(1 for c in checks for s in c["subtests"] if s["status"] == "failed")
    skips = sum(1 for c in checks for s in c["subtests"] if s["status"] == "not-run")
    out.append(
        f'<testsuites name={quoteattr(suite)} tests="{total}" failures="{fails}" skipped="{skips}">'
    )
    for check in checks:
        subs = check["subtests"]
        out.append(
            f'  <testsuite name={quoteattr(check["name"])} tests="{len(subs)}"'
            f' failures="{sum(1 for s in subs if s["status"] == "failed")}"'
            f' skipped="{sum(1 for s in subs if s["status"] == "not-run")}">'
        )
        for sub in subs:
            seconds = sub["durationSeconds"] if sub["durationSeconds"] is not None else 0
            attrs = f"classname={quoteattr(check['name'])} name={quoteattr(sub['name'])}"
            out.append(f'    <testcase {attrs} time="{seconds}">')
            if sub["status"] == "failed":
                message = _clean(sub["error"] or "failed").strip()
                first = message.splitlines()[0] if message else "failed"
                out.append(f"      <failure message={quoteattr(first)}>{escape(message)}</failure>")
            elif sub["status"] == "not-run":
                out.append(
                    '      <skipped message="not run: an earlier step of this check failed"/>'
                )
            out.append("    </testcase>")
        if check["error"]:
            out.append(f"    <system-err>{escape(_clean(check['error']))}</system-err>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _expected(path: Path) -> list[tuple[str, list[str]]]:
    data = json.loads(path.read_text())
    return [(str(c["name"]), [str(s) for s in c["subtests"]]) for c in data["checks"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vmtest_e2e")
    parser.add_argument("--expected", type=Path, required=True, help="{checks: [{name, subtests}]}")
    parser.add_argument("--results", type=Path, nargs="+", required=True)
    parser.add_argument("--suite-name", default="vm-test-suite")
    parser.add_argument("--out", type=Path, help="plain-text report")
    parser.add_argument("--report-dir", type=Path, help="where report.json and junit.xml go")
    args = parser.parse_args(argv)
    cases = load_cases(args.results)
    checks = [judge(name, subs, cases.get(name)) for name, subs in _expected(args.expected)]
    text = render_text(args.suite_name, checks)
    if args.out:
        args.out.write_text(text)
    if args.report_dir:
        args.report_dir.mkdir(parents=True, exist_ok=True)
        (args.report_dir / "report.json").write_text(render_json(args.suite_name, checks))
        (args.report_dir / "junit.xml").write_text(render_junit(args.suite_name, checks))
    sys.stdout.write(text)
    return 0 if all(c["status"] == "passed" for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
