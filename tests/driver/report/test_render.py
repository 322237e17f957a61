"""Renderers: JSON round trip, JUnit parsed with xml.etree, Markdown, console."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import DRV, sample_report
from rich.console import Console
from vmtest.errors import BadInput
from vmtest.report.model import (
    CheckResult,
    FailureInfo,
    PhaseTimes,
    RunReport,
    Status,
    SubtestResult,
    overall_status,
    parse_report,
    report_json_schema,
)
from vmtest.report.phrases import clean_text, cut_tail, format_seconds, headline, next_step
from vmtest.report.render import render_console, render_json, render_junit, render_markdown


def test_json_round_trip_with_sorted_camel_case_keys() -> None:
    report = sample_report()
    text = render_json(report)
    assert parse_report(text) == report
    assert render_json(parse_report(text)) == text
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert data["schemaVersion"] == 1
    assert data["startedAt"] == "2026-11-26T09:00:00Z"
    failure = data["checks"][1]["failure"]
    assert failure["drvPath"] == DRV and failure["exitCode"] == 1 and "logTail" in failure


def test_bad_reports_are_bad_input_with_the_field_named() -> None:
    data = json.loads(render_json(sample_report()))
    data["checks"][0]["surprise"] = 1
    with pytest.raises(BadInput, match=r"checks\.0\.surprise"):
        parse_report(json.dumps(data), source="r.json")
    data = json.loads(render_json(sample_report()))
    data["schemaVersion"] = 2
    with pytest.raises(BadInput, match="schemaVersion"):
        parse_report(json.dumps(data))
    with pytest.raises(BadInput, match="not a valid vmtest run report"):
        parse_report("{not json")


def test_json_schema_uses_the_json_keys() -> None:
    schema = report_json_schema()
    assert {"schemaVersion", "toolVersion", "startedAt", "checks"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_overall_status_is_the_worst() -> None:
    report = sample_report()
    assert report.status is Status.TIMED_OUT
    assert overall_status([report.checks[0]]) is Status.PASSED
    assert overall_status(report.checks, interrupted=True) is Status.INTERRUPTED
    assert overall_status([]) is Status.NOT_RUN


def junit(report: RunReport, tail_lines: int = 50) -> ET.Element:
    return ET.fromstring(render_junit(report, tail_lines=tail_lines))


def test_junit_suites_failures_first_with_counts() -> None:
    root = junit(sample_report())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        "vm-execution-test",
        "unit-vm-analysis",
        "vm-service-test",
        "platform-validation-test",
        "vm-build-test",
    ]
    assert root.get("tests") == "6"
    for suite in suites:  # Ant/Jenkins schema order: properties, then the test cases
        assert next(child.tag for child in suite) == "properties"
        assert suite.find("properties/property[@name='attr']") is not None
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("1", "2", "1")


def test_junit_one_testcase_per_subtest_failed_first() -> None:
    suites = {s.get("name"): s for s in junit(sample_report(), tail_lines=10).iter("testsuite")}
    service = suites["vm-service-test"]
    cases = service.findall("testcase")
    assert [c.get("name") for c in cases] == ["ssh login works", "sshd is running"]
    assert {c.get("classname") for c in cases} == {"vm-service-test"}
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "command `ssh alice@server true` failed (exit code 255)"
    body = failure.text or ""
    assert f"failing derivation: {DRV} (exit code 1)" in body
    assert "[... 71 earlier lines cut; showing the last 10]" in body
    assert "line 80" in body and "line 70\n" not in body
    assert "\x1b" not in body and "\x00" not in body
    assert cases[1].find("failure") is None
    assert cases[1].get("time") == "13.000"


def test_junit_check_without_subtests_is_one_testcase() -> None:
    suites = {s.get("name"): s for s in junit(sample_report()).iter("testsuite")}
    [quick] = suites["unit-vm-analysis"].findall("testcase")
    error = quick.find("error")
    assert quick.get("name") == "unit-vm-analysis"
    assert error is not None and error.get("type") == "eval-error"
    assert "vm-shared.nix:12:5" in (error.text or "")
    [passed] = suites["vm-build-test"].findall("testcase")
    assert list(passed) == []
    [skipped] = suites["platform-validation-test"].findall("testcase")
    assert skipped.find("skipped") is not None
    [slow] = suites["vm-execution-test"].findall("testcase")
    slow_error = slow.find("error")
    assert slow_error is not None and slow_error.get("message") == "timed-out"


def test_junit_check_that_failed_outside_its_subtests_gets_a_check_testcase() -> None:
    check = CheckResult(
        name="vm-service-test",
        attr="checks.x86_64-linux.vm-service-test",
        status=Status.FAILED,
        subtests=[SubtestResult(name="boots", status=Status.PASSED)],
        failure=FailureInfo(message="qemu died"),
    )
    report = sample_report().model_copy(update={"checks": [check]})
    [suite] = junit(report).findall("testsuite")
    names = [(c.get("name"), c.find("failure") is not None) for c in suite.findall("testcase")]
    assert names == [("vm-service-test", True), ("boots", False)]


def test_markdown_table_and_failure_details() -> None:
    md = render_markdown(sample_report(), tail_lines=5)
    lines = md.splitlines()
    assert lines[0] == (
        "## vmtest: timed-out (5 checks: 1 timed out, 1 could not be evaluated, 1 failed, "
        "1 did not run, 1 passed)"
    )
    header = "| Check | Status | Total | Evaluate | Build | Boot | Script | Subtests |"
    assert header in lines
    assert "| vm-service-test | ❌ failed | 1m36s | 4.0s | 40.0s | 22.8s | 28.0s | 1/2 |" in lines
    assert "| vm-build-test | ✅ passed | 400ms | - | - | - | - | - |" in lines
    assert "### Failures" in lines
    assert "#### vm-service-test: failed" in lines
    assert "<details><summary>Log tail (last 5 lines at most)</summary>" in lines
    assert "````text" in lines  # the tail holds ```, so the fence is longer
    assert "- at `/nix/store/" + "s" * 32 + "-source/machines/nixos/vm-shared.nix:12:5`" in lines
    assert any("Docker service not properly configured" in line for line in lines)
    assert "#### vm-build-test" not in md
    i = lines.index("#### vm-execution-test: timed-out")
    assert lines[i + 2] == (
        "- timed-out; the log told nothing more (attribute `checks.x86_64-linux.vm-execution-test`)"
    )


def test_console_summary_table_and_failures() -> None:
    console = Console(record=True, width=160, color_system=None)
    console.print(render_console(sample_report(), tail_lines=3))
    text = console.export_text()
    header = next(line for line in text.splitlines() if "eval" in line and "┃" in line)
    for column in ("check", "status", "total", "build", "boot", "script", "tests"):
        assert column in header
    assert "vm-service-test: failed" in text
    assert "subtest 'ssh login works' failed: command `ssh alice@server true`" in text
    assert "[... 78 earlier lines cut; showing the last 3]" in text
    assert "at /nix/store/" in text and "vm-shared.nix:12:5" in text
    assert "vm-build-test: passed" not in text


def test_helpers() -> None:
    assert clean_text("a\x1b[31mb\x1b[0m\x07c\ud800\r") == "abc"
    assert cut_tail(["a", "b"], 5) == ["a", "b"]
    assert cut_tail(["a", "b", "c"], 1) == ["[... 2 earlier lines cut; showing the last 1]", "c"]
    assert [format_seconds(s) for s in (None, 0.25, 12.34, 125.0)] == [
        "-",
        "250ms",
        "12.3s",
        "2m05s",
    ]


def test_headline_says_how_each_check_ended() -> None:
    report = sample_report()
    assert headline(report).startswith("vmtest: timed-out (5 checks: 1 timed out, ")
    one = report.model_copy(update={"checks": report.checks[:1], "status": Status.PASSED})
    assert headline(one) == "vmtest: passed (1 check)"
    empty = report.model_copy(
        update={"checks": [], "status": Status.INTERRUPTED, "interrupted": True}
    )
    assert headline(empty) == "vmtest: interrupted (before any check started)"


def test_next_step_tells_what_to_do_per_kind_of_failure() -> None:
    step = next_step(sample_report())
    assert step == (
        "next: unit-vm-analysis: fix the Nix evaluation error shown above; "
        "vm-service-test: see the log tail above (all of it: the `nix log` below); "
        "vm-execution-test: ran out of time: raise the budget with --timeout SECONDS; "
        "platform-validation-test: did not run\n"
        f"  vm-service-test: nix log {DRV}\n"  # the real derivation, not a placeholder
        "  vm-service-test: nix run .#checks.x86_64-linux.vm-service-test.driverInteractive"
        '  (see README.md, "Debugging a failing VM test")'
    )
    report = sample_report()
    passed = report.model_copy(update={"checks": report.checks[:1], "status": Status.PASSED})
    assert next_step(passed) is None


def test_console_timed_out_check_names_its_derivation_without_blaming_it() -> None:
    slow = CheckResult(
        name="vm-execution-test",
        attr="checks.x86_64-linux.vm-execution-test",
        status=Status.TIMED_OUT,
        failure=FailureInfo(message="timed out before the check finished", drv_path=DRV),
    )
    report = sample_report().model_copy(update={"checks": [slow], "status": Status.TIMED_OUT})
    console = Console(record=True, width=200, color_system=None)
    console.print(render_console(report))
    text = console.export_text()
    assert f"  derivation: {DRV}" in text
    assert "failing derivation" not in text


def test_console_table_shows_check_names_as_written() -> None:
    # A report read back with `vmtest report` may carry any name; rich markup must not eat it.
    report = sample_report()
    odd = report.checks[0].model_copy(update={"name": "check [/odd] [vm]"})
    report = report.model_copy(update={"checks": [odd, *report.checks[1:]]})
    console = Console(record=True, width=160, color_system=None)
    console.print(render_console(report))
    assert "check [/odd] [vm]" in console.export_text()


def _full_tier_report() -> RunReport:
    """The project's own check names with realistic full-tier times and subtest counts."""
    names = ["platform-validation-test", "vm-config-integrity-test", "vm-service-test"]
    statuses = [Status.PASSED, Status.FAILED, Status.INTERRUPTED]
    checks = [
        CheckResult(
            name=name,
            attr=f"checks.x86_64-linux.{name}",
            status=status,
            duration=665.0,
            phases=PhaseTimes(evaluate=42.3, build=300.0, boot=95.0, script=227.7),
            subtests=[SubtestResult(name=f"s{i}", status=Status.PASSED) for i in range(28)],
        )
        for name, status in zip(names, statuses, strict=True)
    ]
    return sample_report().model_copy(update={"checks": checks, "status": overall_status(checks)})


def _table_lines(width: int) -> list[str]:
    console = Console(record=True, width=width, color_system=None)
    console.print(render_console(_full_tier_report()))
    lines = console.export_text().splitlines()
    return lines[: next(i for i, line in enumerate(lines) if line.startswith("└")) + 2]


@pytest.mark.parametrize("width", [80, 160])
def test_console_table_fits_without_cutting_names_or_figures(width: int) -> None:
    lines = _table_lines(width)
    assert all(len(line.rstrip()) <= width for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "…" not in text
    for name in ("platform-validation-test", "vm-config-integrity-test", "vm-service-test"):
        assert f"│ {name} " in text
    rows = [line for line in lines if line.startswith("│ ")]
    assert len(rows) == 3
    assert all("11m05s" in row and "28/28" in row and "5m00s" in row for row in rows)
    assert "interrupted" in text


def test_console_table_leaves_out_phases_only_when_narrow() -> None:
    wide = "\n".join(_table_lines(160))
    assert "42.3s" in wide and "1m35s" in wide and "3m48s" in wide
    assert "left out" not in wide
    narrow = "\n".join(_table_lines(80))
    header = next(line for line in narrow.splitlines() if line.startswith("┃"))
    assert header.split()[1::2] == ["check", "status", "total", "build", "script", "tests"]
    assert "42.3s" not in narrow and "1m35s" not in narrow
    assert "eval, boot times left out to fit 80 columns" in narrow


def test_one_check_is_counted_in_the_singular() -> None:
    report = sample_report()
    [only] = [c for c in report.checks if c.status is Status.PASSED]
    one = report.model_copy(update={"checks": [only], "status": Status.PASSED})
    assert "`.` on `x86_64-linux`, 1 check, " in render_markdown(one)
    assert "5 checks, " in render_markdown(report)


def test_a_check_not_run_for_a_reason_shows_the_reason() -> None:
    report = sample_report()
    why = "not run on this machine: no usable KVM for boot-pass: /dev/kvm does not exist"
    left_out = CheckResult(
        name="boot-pass",
        attr="checks.x86_64-linux.boot-pass",
        status=Status.NOT_RUN,
        failure=FailureInfo(message=why),
    )
    passed = [c for c in report.checks if c.status is Status.PASSED]
    checks = [*passed, left_out]
    only = report.model_copy(update={"checks": checks, "status": overall_status(checks)})
    assert f"- {why}" in render_markdown(only).splitlines()
    console = Console(width=200, record=True)
    console.print(render_console(only))
    assert f"  {why}" in console.export_text().splitlines()
    assert next_step(only) == "next: boot-pass: did not run here: see why above"
