"""What `vmtest run` prints, against the fixture flake with the real nix: no `nix build`
for checks built before, a failed derivation is never called built, and the summary
table fits 80 columns with the project's long check names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from conftest import check_by_name, load_json, ref, requires_nix, run_vmtest

pytestmark = requires_nix


def _logging_nix(tmp_path: Path) -> tuple[Path, Path]:
    """A `nix` first on PATH that appends its arguments to a file, then runs the real one."""
    real_nix = shutil.which("nix")
    assert real_nix is not None
    bin_dir, calls = tmp_path / "bin", tmp_path / "nix-calls"
    bin_dir.mkdir()
    fake = bin_dir / "nix"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real_nix} "$@"\n')
    fake.chmod(0o755)
    return bin_dir, calls


def test_checks_built_before_are_not_built_again(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    first = run_vmtest(["run", "passing", "--flake", ref(flake)], nix_env)
    assert first.returncode == 0, first.output
    bin_dir, calls = _logging_nix(tmp_path)
    env = {**nix_env, "PATH": f"{bin_dir}:{nix_env['PATH']}"}
    report = tmp_path / "r.json"
    again = run_vmtest(["run", "passing", "--flake", ref(flake), "--report", str(report)], env)
    assert again.returncode == 0, again.output
    assert "already built (cached): passing" in again.stderr
    assert "building" not in again.stderr
    assert not [c for c in calls.read_text().splitlines() if c.startswith("build ")]
    check = check_by_name(load_json(report), "passing")
    assert (check["status"], check["cached"]) == ("passed", True)
    assert check["artifacts"] and Path(check["artifacts"][0]).exists()
    # With one check to build, only that one is counted and built.
    res = run_vmtest(["run", "passing", "failing", "--flake", ref(flake)], env)
    assert res.returncode == 1, res.output
    assert "already built (cached): passing" in res.stderr
    assert "building 1 check\n" in res.stderr
    builds = [c for c in calls.read_text().splitlines() if c.startswith("build ")]
    assert len(builds) == 1 and "-failing.drv" in builds[0] and "-passing.drv" not in builds[0]


def test_a_failed_build_is_never_called_built(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    res = run_vmtest(["run", "failing", "--flake", ref(flake)], nix_env)
    assert res.returncode == 1, res.output
    assert "1 of 1 derivations built" not in res.stderr
    assert "finished failing" not in res.stderr
    assert "FAILED failing (exit code 3) (failing: 0 of 1 derivations built, 1 failed)" in (
        res.stderr
    )


def test_every_failed_check_gets_a_failed_line(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    # Nix 2.8 --keep-going reports only the first failure: the other one must not pass
    # for built, and still gets its FAILED line.
    report = tmp_path / "r.json"
    args = ["run", "failing", "dep-failing", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 1, res.output
    assert not re.search(r"[1-9] of \d+ derivations built", res.stderr), res.stderr
    assert "finished failing" not in res.stderr
    assert [line for line in res.stderr.splitlines() if "FAILED failing " in line]
    assert [line for line in res.stderr.splitlines() if "FAILED failing-dependency " in line]
    data = load_json(report)
    assert {c["name"]: c["status"] for c in data["checks"]} == {
        "failing": "failed",
        "dep-failing": "failed",
    }
    assert check_by_name(data, "failing")["failure"]["drvPath"].endswith("-failing.drv")


def test_passing_build_is_counted_built(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["run", "passing", "--flake", ref(flake)], nix_env)
    assert res.returncode == 0, res.output
    assert "finished passing (passing: 1 of 1 derivations built)" in res.stderr


def test_summary_fits_80_columns_with_long_check_names(
    flake: Path, nix_env: dict[str, str]
) -> None:
    # The project's real names, 24 characters long, on the fixture's checks.
    renames = {"passing": "platform-validation-test", "failing": "vm-config-integrity-test"}
    for file in ("flake.nix", "manifest.nix"):
        text = (flake / file).read_text()
        for old, new in renames.items():
            text = text.replace(f'{old} = mk "{old}"', f'{new} = mk "{old}"')
            text = text.replace(f'(check "{old}"', f'(check "{new}"')
        (flake / file).write_text(text)
    env = {**nix_env, "COLUMNS": "80"}
    res = run_vmtest(["run", *renames.values(), "dep-failing", "--flake", ref(flake)], env)
    assert res.returncode == 1, res.output
    table = [line for line in res.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table), res.stdout
    assert "…" not in "\n".join(table)
    # The least telling phase goes, and the table says so.
    columns = ["check", "status", "total", "build", "boot", "script", "tests"]
    assert table[1].split()[1::2] == columns
    assert "eval times left out to fit 80 columns" in res.stdout
    for name in (*renames.values(), "dep-failing"):
        assert any(line.startswith(f"│ {name} ") for line in table), res.stdout
