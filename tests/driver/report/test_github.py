"""GitHub workflow commands (escaping, positions) and the step summary."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import sample_report
from vmtest.checks.progress import LogStream
from vmtest.report.github import (
    append_step_summary,
    error_annotations,
    error_command,
    escape_data,
    escape_property,
    fit_step_summary,
    in_github_actions,
    workspace_path,
)
from vmtest.report.model import EvalErrorInfo, FailureInfo, Status, SubtestResult

STORE_SRC = "/nix/store/" + "s" * 32 + "-source"


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"


def test_error_command_shapes() -> None:
    assert error_command("boom") == "::error::boom"
    assert (
        error_command("two\nlines", title="vmtest: x, y", file="a,b.nix", line=3, col=4)
        == "::error file=a%2Cb.nix,line=3,col=4,title=vmtest%3A x%2C y::two%0Alines"
    )
    assert error_command("\x1b[31mred\x1b[0m") == "::error::red"


def make_workspace(tmp_path: Path) -> Path:
    nix_file = tmp_path / "machines" / "nixos" / "vm-shared.nix"
    nix_file.parent.mkdir(parents=True)
    nix_file.write_text("{ }\n")
    return tmp_path


def test_store_and_lazy_tree_paths_map_back_into_the_workspace(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    rel = "machines/nixos/vm-shared.nix"
    assert workspace_path(f"{STORE_SRC}/{rel}", ws) == rel
    assert workspace_path(f"«github:o/r/abc»/{rel}", ws) == rel
    assert workspace_path(str(ws / rel), ws) == rel
    assert workspace_path(rel, ws) == rel
    assert workspace_path(f"{STORE_SRC}/missing.nix", ws) is None
    assert workspace_path("/etc/passwd", ws) is None
    assert workspace_path("«none»", ws) is None


def test_flake_in_a_subdirectory(tmp_path: Path) -> None:
    sub = tmp_path / "infra"
    (sub / "lib").mkdir(parents=True)
    (sub / "lib" / "x.nix").write_text("1\n")
    assert workspace_path(f"{STORE_SRC}/lib/x.nix", tmp_path, flake_dir=sub) == "infra/lib/x.nix"


def test_annotations_for_a_report(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    lines = error_annotations(sample_report(), ws)
    assert len(lines) == 3  # failed, eval-error, timed-out; passed and not-run give none
    quick = next(line for line in lines if "unit-vm-analysis" in line)
    assert quick.startswith(
        "::error file=machines/nixos/vm-shared.nix,line=12,col=5,"
        "title=vmtest%3A unit-vm-analysis eval-error::undefined variable 'dockr'%0A"
    )
    assert "Docker service not properly configured (fix: set" in quick
    service = next(line for line in lines if "vm-service-test" in line)
    assert service.startswith("::error title=vmtest%3A vm-service-test failed::builder for")
    assert "%0Asubtest 'ssh login works' failed: command" in service
    assert "\n" not in "".join(lines)


def test_eval_error_outside_the_workspace_has_no_position(tmp_path: Path) -> None:
    report = sample_report()
    check = report.checks[3].model_copy(
        update={
            "failure": FailureInfo(
                message="m", eval_error=EvalErrorInfo(message="m", file="/elsewhere/x.nix", line=1)
            ),
            "subtests": [SubtestResult(name="s", status=Status.FAILED)],
        }
    )
    [line] = error_annotations(report.model_copy(update={"checks": [check]}), tmp_path)
    assert line.startswith("::error title=")


def test_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(target), "GITHUB_ACTIONS": "true"}
    assert append_step_summary("# one", env) == target
    assert append_step_summary("two\n", env) == target
    assert target.read_text() == "# one\ntwo\n"
    assert append_step_summary("x", {}) is None
    assert in_github_actions(env) and not in_github_actions({})


def test_step_summary_is_cut_to_the_size_limit() -> None:
    text = "".join(f"| row {i} | é |\n" for i in range(1000))
    assert fit_step_summary(text, limit=10_000) != text
    cut = fit_step_summary(text, limit=1000)
    assert len(cut.encode()) <= 1000
    assert cut.endswith("step summary size limit; see the JSON report)_\n")
    assert cut.splitlines()[0] == "| row 0 | é |"
    assert fit_step_summary("short\n") == "short\n"


def _groups(text: str) -> list[tuple[str, list[str]]]:
    """(group title, its lines) in order; asserts nothing is printed outside a group."""
    found: list[tuple[str, list[str]]] = []
    open_group: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("::group::"):
            assert open_group is None, f"nested group at {line!r}"
            open_group = []
            found.append((line.removeprefix("::group::"), open_group))
        elif line == "::endgroup::":
            assert open_group is not None
            open_group = None
        else:
            assert open_group is not None, f"{line!r} outside any group"
            open_group.append(line)
    assert open_group is None, "a group was left open"
    return found


GITHUB = {"GITHUB_ACTIONS": "true"}
INTERLEAVED = [("a", "1"), ("b", "1"), ("a", "2"), ("c", "1"), ("b", "2"), ("a", "3")]


def test_build_logs_are_one_group_per_check_never_interleaved() -> None:
    out = io.StringIO()
    logs = LogStream(out, GITHUB)
    for check, text in INTERLEAVED:
        logs.line(check, text)
    logs.close()
    assert _groups(out.getvalue()) == [
        ("a log", ["a> 1", "a> 2", "a> 3"]),
        ("b log", ["b> 1", "b> 2"]),
        ("c log", ["c> 1"]),
    ]


def test_when_the_open_group_ends_the_next_check_goes_live() -> None:
    out = io.StringIO()
    logs = LogStream(out, GITHUB)
    logs.line("a", "1")
    logs.line("b", "1")
    logs.end("a")
    assert _groups(out.getvalue() + "::endgroup::\n") == [("a log", ["a> 1"]), ("b log", ["b> 1"])]
    logs.line("b", "2")  # live now: printed at once, in b's open group
    assert out.getvalue().endswith("b> 2\n")
    logs.close()
    assert _groups(out.getvalue())[-1] == ("b log", ["b> 1", "b> 2"])


def test_outside_github_lines_are_only_prefixed() -> None:
    out = io.StringIO()
    logs = LogStream(out, {})
    for check, text in INTERLEAVED:
        logs.line(check, text)
    logs.close()
    assert out.getvalue().splitlines() == [f"{check}> {text}" for check, text in INTERLEAVED]
