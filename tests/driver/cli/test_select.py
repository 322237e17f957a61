"""Selecting and debugging checks as nix-fast-build users expect, with the real nix:
tiers, globs, "did you mean", --override-input, cache awareness, --dry-run, -L, and
the commands printed after a failure."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import check_by_name, load_json, ref, requires_nix, run_vmtest

pytestmark = requires_nix


def test_run_by_tier_and_by_glob(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    res = run_vmtest(
        ["run", "--tier", "full", "--allow-tcg", "--flake", ref(flake), "--report", str(report)],
        nix_env,
    )
    names = [c["name"] for c in load_json(report)["checks"]]
    assert names == [
        "vm-test-suite",
        "vm-service-test",
        "vm-parallel-boot",
        "boot-pass",
        "boot-fail",
        "boot-suite",
    ]
    assert res.returncode == 1, (
        res.output
    )  # vm-service-test, boot-fail and boot-suite fail on purpose
    res = run_vmtest(
        [
            "run",
            "boot-*",
            "passing",
            "--allow-tcg",
            "--flake",
            ref(flake),
            "--report",
            str(report),
        ],
        nix_env,
    )
    names = [c["name"] for c in load_json(report)["checks"]]
    assert names == ["boot-pass", "boot-fail", "boot-suite", "passing"]


def test_unknown_names_and_globs_suggest_the_closest(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["run", "vm-service-tst", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert "error: unknown check: vm-service-tst" in res.stderr
    assert "hint: did you mean vm-service-test?" in res.stderr
    res = run_vmtest(["run", "nothing-*", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert "error: no check matches 'nothing-*'" in res.stderr
    res = run_vmtest(["run", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2 and "error: name the checks to run" in res.stderr


def test_a_pattern_that_matched_nothing_is_no_check_in_the_report(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    args = ["run", "vm-servce-*", "nope", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 2, res.output
    assert "error: no check matches 'vm-servce-*'" in res.stderr
    assert "hint: did you mean vm-service-test?" in res.stderr
    assert [c["name"] for c in load_json(report)["checks"]] == ["nope"]
    res = run_vmtest(["run", "nothing-*", "--flake", ref(flake), "--report", str(report)], nix_env)
    assert res.returncode == 2, res.output
    [entry] = load_json(report)["checks"]
    assert (
        entry["name"] == "vmtest" and "no check matches 'nothing-*'" in entry["failure"]["message"]
    )


_OVERRIDE_FLAKE = """{
  inputs.dep.url = "path:/nonexistent/vmtest-dep";
  outputs = { self, dep }: {
    vmtestManifest = {
      schemaVersion = 1;
      checks = [ {
        name = "uses-dep"; attr = "checks.x86_64-linux.uses-dep"; tier = "quick";
        systems = [ "x86_64-linux" ]; requiresKvm = false; timeoutSeconds = 30;
        description = "writes its input's text"; subtests = [ ];
      } ];
    };
    checks.x86_64-linux.uses-dep = derivation {
      name = "uses-dep"; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "echo ${dep.text} > $out" ];
    };
  };
}
"""


def test_override_input_is_passed_to_nix(tmp_path: Path, nix_env: dict[str, str]) -> None:
    """A flake whose input points nowhere runs once the input is overridden."""
    dep, main = tmp_path / "dep", tmp_path / "main"
    dep.mkdir()
    main.mkdir()
    text = f"from the override {tmp_path.name}"
    (dep / "flake.nix").write_text(f'{{ outputs = {{ self }}: {{ text = "{text}"; }}; }}\n')
    (main / "flake.nix").write_text(_OVERRIDE_FLAKE)
    without = run_vmtest(["run", "uses-dep", "--flake", ref(main)], nix_env)
    assert without.returncode != 0
    assert "/nonexistent/vmtest-dep" in without.stderr
    args = ["run", "uses-dep", "--flake", ref(main), "--json"]
    res = run_vmtest([*args, "--override-input", "dep", f"path:{dep}"], nix_env)
    assert res.returncode == 0, res.output
    [artifact] = check_by_name(json.loads(res.stdout), "uses-dep")["artifacts"]
    assert Path(artifact).read_text() == text + "\n"
    # The NAME=VALUE spelling works too.
    res = run_vmtest([*args, f"--override-input=dep=path:{dep}"], nix_env)
    assert res.returncode == 0, res.output


def test_an_override_input_that_matches_no_input_is_bad_input(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """Nix only warns and builds with the locked input; vmtest says so and stops (exit 2)."""
    report = tmp_path / "r.json"
    args = ["run", "passing", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest([*args, "--override-input", "nixpkg", f"path:{tmp_path}"], nix_env)
    assert res.returncode == 2, res.output
    assert "error: --override-input nixpkg: the flake has no input named nixpkg" in res.stderr
    assert check_by_name(load_json(report), "passing")["status"] == "failed"


def test_dry_run_builds_nothing_and_says_what_is_cached(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    first = run_vmtest(["run", "passing", "--flake", ref(flake)], nix_env)
    assert first.returncode == 0, first.output
    dry = run_vmtest(["run", "passing", "dep-failing", "--dry-run", "--flake", ref(flake)], nix_env)
    assert dry.returncode == 0, dry.output
    assert "passing: already built (cached): /nix/store/" in dry.stdout
    assert "dep-failing: would build 2 derivations and fetch 0 paths" in dry.stdout
    assert "-failing-dependency.drv" in dry.stdout
    assert "dry run: nothing was built" in dry.stdout
    # Nothing was built: dep-failing still has everything to build.
    again = run_vmtest(
        ["run", "dep-failing", "--dry-run", "--json", "--flake", ref(flake)], nix_env
    )
    [row] = json.loads(again.stdout)["checks"]
    assert row["cached"] is False and len(row["toBuild"]) == 2
    assert "building" not in again.stderr


def test_a_cached_check_is_shown_cached_without_boot_or_script(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    args = ["run", "vm-test-suite", "--allow-tcg", "--flake", ref(flake)]
    first = run_vmtest([*args, "--report", str(tmp_path / "first.json")], nix_env)
    assert first.returncode == 0, first.output
    built = check_by_name(load_json(tmp_path / "first.json"), "vm-test-suite")
    assert built["cached"] is False and built["phases"]["boot"] is not None
    report = tmp_path / "r.json"
    res = run_vmtest([*args, "--report", str(report)], nix_env)
    assert res.returncode == 0, res.output
    assert "already built (cached): vm-test-suite" in res.stderr
    check = check_by_name(load_json(report), "vm-test-suite")
    assert check["status"] == "passed" and check["cached"] is True
    assert check["phases"]["boot"] is None and check["phases"]["script"] is None
    assert check["phases"]["build"] is None
    row = next(line for line in res.stdout.splitlines() if "vm-test-suite" in line)
    assert "cached" in row


def test_per_check_counters_and_build_times(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """dep-failing builds two derivations of its own, passing one: each line counts the
    check's own, and a check's build time is not the batch's."""
    report = tmp_path / "r.json"
    res = run_vmtest(
        ["run", "dep-failing", "passing", "--flake", ref(flake), "--report", str(report)], nix_env
    )
    assert res.returncode == 1, res.output
    assert "(passing: 1 of 1 derivations built)" in res.stderr
    assert "dep-failing: 0 of 2 derivations built, 1 failed" in res.stderr
    assert "of 3 derivations built" not in res.stderr  # never the batch's count
    data = load_json(report)
    passing = check_by_name(data, "passing")
    assert passing["phases"]["build"] is not None


def test_print_build_logs_prefixes_each_line_with_its_check(
    flake: Path, nix_env: dict[str, str]
) -> None:
    args = ["run", "passing", "dep-failing", "-L", "--flake", ref(flake)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 1, res.output
    assert "passing> checking the configuration" in res.stderr
    assert "passing> all good" in res.stderr
    # A dependency's lines carry the name of the check that needs it.
    assert "dep-failing> dependency: cannot produce the image" in res.stderr
    assert "::group::" not in res.stderr
    # In GitHub Actions each check's lines are folded (failed builds run again: not cached).
    gha_args = ["run", "failing", "dep-failing", "-L", "--flake", ref(flake)]
    gha = run_vmtest(gha_args, {**nix_env, "GITHUB_ACTIONS": "true"})
    lines = gha.stderr.splitlines()
    opened = [line for line in lines if line.startswith("::group::")]
    assert "::group::failing log" in opened and "::group::dep-failing log" in opened
    assert lines.count("::endgroup::") == len(opened)
    start = lines.index("::group::failing log")
    assert lines[start + 1].startswith("failing> ")


def test_a_failed_vm_test_points_to_its_interactive_driver_and_its_log(
    flake: Path, nix_env: dict[str, str]
) -> None:
    res = run_vmtest(["run", "vm-service-test", "--allow-tcg", "--flake", ref(flake)], nix_env)
    assert res.returncode == 1, res.output
    assert (
        f"vm-service-test: nix run {ref(flake)}#checks.x86_64-linux.vm-service-test"
        '.driverInteractive  (see README.md, "Debugging a failing VM test")'
    ) in res.stdout
    log_line = next(ln for ln in res.stdout.splitlines() if "vm-service-test: nix log " in ln)
    drv = log_line.split("nix log ", 1)[1]
    assert drv.startswith("/nix/store/") and drv.endswith("-vm-service-test.drv")
    assert Path(drv).exists()  # the real derivation, not "<derivation>"
    assert "<derivation>" not in res.stdout


def _with_unlisted_check(flake: Path) -> None:
    """A check under `checks` that the manifest does not list (a formatter, say)."""
    nix = flake / "flake.nix"
    text = nix.read_text()
    anchor = '          passing = mk "passing" scripts.passing;\n'
    assert anchor in text
    nix.write_text(text.replace(anchor, anchor + '          fmt = mk "fmt" scripts.passing;\n'))


def test_a_flake_check_the_manifest_does_not_list_is_said_by_name(
    flake: Path, nix_env: dict[str, str]
) -> None:
    _with_unlisted_check(flake)
    system = ["--system", "x86_64-linux", "--flake", ref(flake)]
    res = run_vmtest(["manifest", "validate", *system], nix_env)
    assert res.returncode == 0, res.output  # valid: the manifest lists only what exists
    assert res.stdout.strip() == "manifest OK: 13 checks, 13 defined for x86_64-linux"
    assert (
        "warning: the flake defines 1 check for x86_64-linux that the manifest does not "
        "list, so vmtest never runs it: fmt"
    ) in res.stderr
    res = run_vmtest(["run", "fmt", *system], nix_env)
    assert res.returncode == 2, res.output
    assert (
        "error: check 'fmt' is in the flake's checks.x86_64-linux but not in its manifest"
    ) in res.stderr
    assert "unknown check" not in res.stderr
    assert "nix build .#checks.x86_64-linux.fmt" in res.stderr
    listed = run_vmtest(["list", *system], nix_env)
    assert listed.returncode == 0, listed.output
    assert "not in the manifest, so never run by vmtest: fmt" in listed.stdout


_ONE_CHECK_FLAKE = """{
  outputs = { self }: {
    lib.vmtestManifest = {
      schemaVersion = 1;
      checks = [ {
        name = "one"; attr = "checks.x86_64-linux.one"; tier = "quick";
        systems = [ "x86_64-linux" ]; requiresKvm = false; timeoutSeconds = 30;
        description = "writes a file"; subtests = [ ];
      } ];
    };
    checks.x86_64-linux.one = derivation {
      name = "one"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ];
    };
  };
}
"""


def test_validate_counts_one_check_in_the_singular(tmp_path: Path, nix_env: dict[str, str]) -> None:
    (tmp_path / "flake.nix").write_text(_ONE_CHECK_FLAKE)
    args = ["manifest", "validate", "--system", "x86_64-linux", "--flake", ref(tmp_path)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 0, res.output
    assert res.stdout.strip() == "manifest OK: 1 check, 1 defined for x86_64-linux"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_an_untracked_flake_nix_in_a_git_repository_gets_the_git_add_hint(
    flake: Path, nix_env: dict[str, str]
) -> None:
    _git(flake, "init", "-q")
    _git(flake, "add", *[p.name for p in flake.iterdir() if p.name not in (".git", "flake.nix")])
    res = run_vmtest(["list", "--flake", str(flake)], nix_env)  # a git flake, not path:
    assert res.returncode == 2, res.output
    assert "hint: in a git repository Nix sees only the files git tracks" in res.stderr
    assert "run `git add flake.nix`" in res.stderr
    _git(flake, "add", "flake.nix")
    assert run_vmtest(["list", "--flake", str(flake)], nix_env).returncode == 0


def test_no_flake_nix_at_all_says_where_to_run(tmp_path: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["list"], nix_env, cwd=tmp_path)
    assert res.returncode == 2, res.output
    assert "could not find a flake.nix file" in res.stderr
    assert "hint: run vmtest in the directory of your flake.nix, or name it: --flake PATH" in (
        res.stderr
    )
