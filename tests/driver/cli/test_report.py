"""`vmtest list`, `manifest show|schema`, `report`, and the GitHub Actions outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import check_by_name, load_json, ref, requires_nix, run_vmtest

pytestmark = requires_nix


def test_list_json_and_table(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["list", "--json", "--flake", ref(flake)], nix_env)
    assert res.returncode == 0, res.output
    names = [c["name"] for c in json.loads(res.stdout)["checks"]]
    assert names[:2] == ["unit-vm-analysis", "passing"] and len(names) == 13
    table = run_vmtest(["list", "--flake", ref(flake)], nix_env)
    assert table.returncode == 0
    assert "vm-service-test" in table.stdout and "fixture check vm-service-test" in table.stdout


def test_list_shows_a_description_as_written(flake: Path, nix_env: dict[str, str]) -> None:
    manifest = flake / "manifest.nix"
    text = manifest.read_text()
    manifest.write_text(text.replace('"fixture check ${name}"', '"check [/nix/store/x] [vm]"'))
    table = run_vmtest(["list", "--flake", ref(flake)], nix_env)
    assert table.returncode == 0, table.output
    assert "check [/nix/store/x] [vm]" in table.stdout


def test_manifest_show_and_schema(flake: Path, nix_env: dict[str, str]) -> None:
    shown = run_vmtest(["manifest", "show", "--flake", ref(flake)], nix_env)
    assert shown.returncode == 0, shown.output
    assert json.loads(shown.stdout)["schemaVersion"] == 1
    schema = run_vmtest(["manifest", "schema"], nix_env)
    assert schema.returncode == 0
    assert json.loads(schema.stdout)["$defs"]["Check"]["additionalProperties"] is False


def test_report_converts_json_to_junit_and_markdown(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    ran = run_vmtest(
        ["run", "passing", "failing", "--flake", ref(flake), "--report", str(report)], nix_env
    )
    assert ran.returncode == 1, ran.output
    junit, md = tmp_path / "out.xml", tmp_path / "out.md"
    res = run_vmtest(["report", str(report), "--junit", str(junit), "--markdown", str(md)], nix_env)
    assert res.returncode == 0, res.output
    root = ET.parse(junit).getroot()
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["failing"]
    assert "FAIL: expected 22, got 2222" in md.read_text()
    summary = run_vmtest(["report", str(report)], nix_env)
    assert summary.returncode == 0 and "failing" in summary.stdout


def test_report_rejects_a_bad_report(nix_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schemaVersion": 7}')
    res = run_vmtest(["report", str(bad)], nix_env)
    assert res.returncode == 2, res.output
    assert res.stderr.startswith(f"error: {bad} is not a valid vmtest run report")
    missing = run_vmtest(["report", str(tmp_path / "nope.json")], nix_env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_github_actions_summary_and_annotations(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    env = {
        **nix_env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(flake),
    }
    res = run_vmtest(["run", "eval-error", "passing", "--flake", ref(flake)], env, cwd=flake)
    assert res.returncode == 1, res.output
    annotations = [line for line in res.stdout.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=broken.nix,line=6,col=11")
    assert "eval-error" in summary.read_text()


def test_json_report_shape(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    res = run_vmtest(["run", "passing", "--flake", ref(flake), "--report", str(report)], nix_env)
    assert res.returncode == 0, res.output
    data = load_json(report)
    assert data["schemaVersion"] == 1 and data["toolVersion"] == "0.1.0"
    assert data["flake"] == ref(flake) and data["status"] == "passed"
    check = check_by_name(data, "passing")
    assert check["attr"].startswith("checks.") and check["attr"].endswith(".passing")
    assert Path(check["artifacts"][0]).read_text() == "passed\n"


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_list_fits_80_columns_and_piped_output_honours_columns(
    flake: Path, nix_env: dict[str, str]
) -> None:
    manifest = flake / "manifest.nix"
    long = "A description long enough to need wrapping " * 4
    manifest.write_text(manifest.read_text().replace('"fixture check ${name}"', f'"{long}"'))
    table = run_vmtest(["list", "--flake", ref(flake)], {**nix_env, "COLUMNS": "80"})
    assert table.returncode == 0, table.output
    assert _widest(table.stdout) <= 80
    names = [line.split()[0] for line in table.stdout.splitlines()[2:] if line[:2].strip()]
    assert "vm-parallel-boot" in names and "unit-vm-analysis" in names  # never broken
    wide = run_vmtest(["list", "--flake", ref(flake)], {**nix_env, "COLUMNS": "120"})
    assert 80 < _widest(wide.stdout) <= 120


def test_list_wraps_a_long_word_instead_of_cutting_it(flake: Path, nix_env: dict[str, str]) -> None:
    manifest = flake / "manifest.nix"
    word = "nixosConfigurations.vm-aarch64.config.system.build.toplevel.drvPath"
    described = f'"Evaluates {word} and checks it. A second sentence."'
    manifest.write_text(manifest.read_text().replace('"fixture check ${name}"', described))
    table = run_vmtest(["list", "--flake", ref(flake)], {**nix_env, "COLUMNS": "80"})
    assert table.returncode == 0, table.output
    assert _widest(table.stdout) <= 80
    assert "…" not in table.stdout
    # The description is the last column: its pieces follow each other once the
    # spaces (and the empty cells of its continuation lines) are taken out.
    assert f"Evaluates{word}andchecksit." in "".join(table.stdout.split())


def test_summary_table_fits_80_columns(flake: Path, nix_env: dict[str, str]) -> None:
    env = {**nix_env, "COLUMNS": "80"}
    res = run_vmtest(["run", "passing", "vm-parallel-boot", "--flake", ref(flake)], env)
    assert res.returncode == 0, res.output
    table = res.stdout.split("\n\n")[0]
    assert _widest(table) <= 80
    assert "vm-parallel-boot" in table


def test_quick_warnings_become_annotations_and_step_summary(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    summary = tmp_path / "step-summary.md"
    env = {**nix_env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    res = run_vmtest(["quick", "--flake", ref(flake)], env)
    assert res.returncode == 0, res.output
    warnings = [line for line in res.stdout.splitlines() if line.startswith("::warning")]
    assert warnings == [
        (
            "::warning title=vmtest%3A unit-vm-analysis warning (ssh-password-auth)::"
            "sshd allows password authentication (option "
            "services.openssh.settings.PasswordAuthentication; fix: set "
            "services.openssh.settings.PasswordAuthentication = false;)"
        )
    ]
    text = summary.read_text()
    assert "### Warnings" in text
    assert "unit-vm-analysis: sshd allows password authentication" in text


def test_every_report_path_is_checked_before_any_check_runs(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    for junit in ("/proc/x.xml", "/sys/x.xml"):
        args = ["run", "passing", "--flake", ref(flake), "--junit", junit, "--report", str(report)]
        res = run_vmtest(args, nix_env)
        assert res.returncode == 2, res.output
        assert res.stderr.startswith(f"error: cannot write report {junit}: "), res.stderr
        assert "[Errno" not in res.output
        assert "evaluating" not in res.stderr and not report.exists()  # nothing ran


def test_an_unwritable_step_summary_is_said_before_any_check_runs(
    flake: Path, nix_env: dict[str, str]
) -> None:
    env = {**nix_env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "/sys/summary.md"}
    res = run_vmtest(["run", "passing", "--flake", ref(flake)], env)
    assert res.returncode == 2, res.output
    assert res.stderr.startswith(
        "error: cannot write the GitHub step summary ($GITHUB_STEP_SUMMARY) /sys/summary.md: "
        "permission denied"
    ), res.stderr
    assert "evaluating" not in res.stderr


def test_a_dash_report_path_is_stdout(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    res = run_vmtest(
        ["run", "passing", "--flake", ref(flake), "--report", "-"], nix_env, cwd=tmp_path
    )
    assert res.returncode == 0, res.output
    assert json.loads(res.stdout)["checks"][0]["name"] == "passing"  # only the JSON
    assert not (tmp_path / "-").exists()
    res = run_vmtest(
        ["run", "passing", "--flake", ref(flake), "--junit", "-"], nix_env, cwd=tmp_path
    )
    assert res.returncode == 0, res.output
    assert ET.fromstring(res.stdout).tag == "testsuites"
    assert not (tmp_path / "-").exists()


def test_only_one_report_goes_to_stdout(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    for both in (["--json", "--junit", "-"], ["--report", "-", "--junit", "-"]):
        res = run_vmtest(["run", "passing", "--flake", ref(flake), *both], nix_env, cwd=tmp_path)
        assert res.returncode == 2, res.output
        assert "error: only one report can go to stdout" in res.stderr
    report = tmp_path / "r.json"
    made = run_vmtest(["run", "passing", "--flake", ref(flake), "--report", str(report)], nix_env)
    assert made.returncode == 0, made.output
    res = run_vmtest(["report", str(report), "--junit", "-", "--markdown", "-"], nix_env)
    assert res.returncode == 2, res.output
    assert "error: only one of --junit and --markdown can be - (stdout)" in res.stderr
    res = run_vmtest(["report", str(report), "--junit", "-"], nix_env, cwd=tmp_path)
    assert res.returncode == 0, res.output
    assert ET.fromstring(res.stdout).tag == "testsuites" and not (tmp_path / "-").exists()
