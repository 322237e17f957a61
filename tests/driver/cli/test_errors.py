"""Bad inputs and unready environments: one clear error line, the right exit code,
never a traceback."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import check_by_name, load_json, ref, requires_nix, run_vmtest, vmtest_argv

pytestmark = requires_nix


def assert_clean_error(res_output: str) -> None:
    assert "Traceback" not in res_output


def test_no_nix_on_path(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    res = run_vmtest(["quick", "--flake", ref(flake)], {**nix_env, "PATH": str(empty)})
    assert res.returncode == 3, res.output
    assert res.stderr.startswith("error: nix is not installed or not on PATH")
    assert "hint: install Nix" in res.stderr
    assert_clean_error(res.output)


@pytest.mark.parametrize("features", ["nix-command", ""])
def test_flakes_disabled(flake: Path, nix_env: dict[str, str], features: str) -> None:
    env = {**nix_env, "NIX_CONFIG": f"experimental-features = {features}\nsubstituters ="}
    res = run_vmtest(["list", "--flake", ref(flake)], env)
    assert res.returncode == 3, res.output
    assert "error: Nix flakes are disabled" in res.stderr
    assert "experimental-features = nix-command flakes" in res.stderr
    assert_clean_error(res.output)


def test_unknown_check(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["run", "passing", "nope", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert "error: unknown check: nope" in res.stderr
    assert (
        "known checks: boot-fail, boot-pass, boot-suite, dep-failing, eval-error, failing, "
        "needs-feature, passing, slow, unit-vm-analysis, vm-parallel-boot" in res.stderr
    )
    assert_clean_error(res.output)


def test_usage_errors_exit_2(nix_env: dict[str, str]) -> None:
    assert run_vmtest(["run"], nix_env).returncode == 2
    assert run_vmtest(["quick", "--no-such-option"], nix_env).returncode == 2
    res = run_vmtest(["quick", "--option", "no-value"], nix_env)
    assert res.returncode == 2
    assert "error: --option expects NAME VALUE or NAME=VALUE" in res.stderr


GHOST = (
    "check 'ghost' is listed for x86_64-linux but the flake does not define "
    "checks.x86_64-linux.ghost"
)


def write_manifest(flake: Path, checks_nix: str, extra: str = "") -> None:
    (flake / "manifest.nix").write_text(f"{{ schemaVersion = 1; checks = {checks_nix}; {extra} }}")


def entry(name: str, tier: str = "quick", extra: str = "") -> str:
    return (
        f'{{ name = "{name}"; attr = "checks.{{system}}.{name}"; tier = "{tier}"; '
        'systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ]; '
        f'requiresKvm = false; timeoutSeconds = 30; description = "d"; subtests = [ ]; {extra} }}'
    )


def test_manifest_eval_error(flake: Path, nix_env: dict[str, str]) -> None:
    (flake / "manifest.nix").write_text('throw "the manifest is broken"')
    res = run_vmtest(["list", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert "the manifest is broken" in res.stderr
    assert res.stderr.count("\nerror:") + res.stderr.startswith("error:") == 1
    assert_clean_error(res.output)


def test_manifest_not_json_convertible(flake: Path, nix_env: dict[str, str]) -> None:
    (flake / "manifest.nix").write_text("x: x")
    res = run_vmtest(["manifest", "validate", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert f"error: cannot evaluate {ref(flake)}#vmtestManifest: " in res.stderr
    assert "hint: `vmtest --debug ...` prints each nix command" in res.stderr
    assert_clean_error(res.output)


def test_flake_without_a_manifest(flake: Path, nix_env: dict[str, str]) -> None:
    text = (flake / "flake.nix").read_text()
    (flake / "flake.nix").write_text(text.replace("vmtestManifest = ", "notTheManifest = "))
    res = run_vmtest(["quick", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert res.stderr.splitlines() == [
        f"error: {ref(flake)} has no vmtestManifest output (the list of checks vmtest runs)",
        "  hint: export lib.vmtestManifest from flake.nix; `vmtest manifest schema` shows its shape",
    ]


def test_manifest_output_not_json(flake: Path, nix_env: dict[str, str], tmp_path: Path) -> None:
    """A nix that prints garbage (fake script on PATH) is bad input, not a crash."""
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    script = fake / "nix"
    script.write_text(
        '#!/bin/sh\ncase "$1" in --version) echo "nix (Nix) 2.8.0";; *) echo "garbage{";; esac\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    env = {**nix_env, "PATH": f"{fake}{os.pathsep}{nix_env['PATH']}"}
    res = run_vmtest(["list", "--system", "x86_64-linux", "--flake", ref(flake)], env)
    assert res.returncode == 2, res.output
    assert "  - not JSON (Expecting value): 'garbage{" in res.stderr
    assert_clean_error(res.output)


@pytest.mark.parametrize(
    ("checks_nix", "expected"),
    [
        (
            f"[ {entry('passing', extra='color = 1;')} ]",
            "check 'passing' (checks[0]): color: unknown field",
        ),
        (f"[ {entry('passing')} {entry('passing')} ]", "duplicate check name 'passing'"),
        (
            f"[ {entry('passing', tier='slow')} ]",
            "check 'passing' (checks[0]): tier: must be 'quick' or 'full', got 'slow'",
        ),
        (
            f"[ {entry('ghost')} ]",
            GHOST,
        ),
    ],
    ids=["unknown-field", "duplicate-name", "bad-tier", "undefined-check"],
)
def test_schema_invalid_manifest(
    flake: Path, nix_env: dict[str, str], checks_nix: str, expected: str
) -> None:
    write_manifest(flake, checks_nix)
    res = run_vmtest(
        ["manifest", "validate", "--system", "x86_64-linux", "--flake", ref(flake)], nix_env
    )
    assert res.returncode == 2, res.output
    problems = [line for line in res.stderr.splitlines() if line.startswith("  - ")]
    assert problems == [f"  - {expected}"]
    assert_clean_error(res.output)


def test_unknown_top_level_field(flake: Path, nix_env: dict[str, str]) -> None:
    write_manifest(flake, f"[ {entry('passing')} ]", extra="version = 2;")
    res = run_vmtest(["manifest", "validate", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert "  - version: unknown field" in res.stderr


def test_valid_manifest_validates(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(
        ["manifest", "validate", "--system", "x86_64-linux", "--flake", ref(flake)], nix_env
    )
    assert res.returncode == 0, res.output
    assert res.stdout.strip() == "manifest OK: 13 checks, 13 defined for x86_64-linux"


@pytest.mark.parametrize("where", ["missing-dir", "is-dir"])
def test_unwritable_report_path(
    flake: Path, nix_env: dict[str, str], tmp_path: Path, where: str
) -> None:
    target = tmp_path / "no-such-dir" / "r.json" if where == "missing-dir" else tmp_path
    res = run_vmtest(["quick", "--flake", ref(flake), "--report", str(target)], nix_env)
    assert res.returncode == 2, res.output
    assert res.stderr.startswith(f"error: cannot write report {target}")
    assert_clean_error(res.output)


def test_report_write_failure_after_run(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """A path that passes the early check but fails on write (a /proc file) is exit 2 too."""
    report = tmp_path / "r.json"
    args = ["quick", "--flake", ref(flake), "--junit", "/proc/version", "--report", str(report)]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 2, res.output
    assert "error: cannot write /proc/version" in res.stderr or "cannot write report" in res.stderr
    if "error: cannot write /proc/version" in res.stderr:  # failed on write, after the run:
        assert "vmtest: passed" in res.stdout  # the result is still shown
        assert report.is_file()  # and the other report still written
    assert_clean_error(res.output)


def test_debug_logs_argv(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["--debug", "list", "--json", "--flake", ref(flake)], nix_env)
    assert res.returncode == 0, res.output
    installable = shlex.quote(f"{ref(flake)}#vmtestManifest")
    assert f"debug: + nix eval --json {installable}" in res.stderr


def test_version(nix_env: dict[str, str]) -> None:
    res = run_vmtest(["--version"], nix_env)
    assert res.returncode == 0
    assert res.stdout.strip() == "vmtest 0.1.0"


# A flake whose input `x` is locked but cannot be fetched (nothing listens on port 9):
# outputs that do not touch it evaluate offline (inputs are fetched lazily).
UNFETCHABLE_URL = "https://127.0.0.1:9/x.tar.gz"
UNFETCHABLE_FLAKE = """{
  inputs.x = { url = "%(url)s"; flake = false; };
  outputs = { self, x }:
    let
      entry = name: {
        inherit name; attr = "checks.{system}.${name}"; tier = "quick";
        systems = [ "x86_64-linux" "aarch64-linux" ]; requiresKvm = false;
        timeoutSeconds = 30; description = "d"; subtests = [ ];
      };
      forBoth = f: { x86_64-linux = f "x86_64-linux"; aarch64-linux = f "aarch64-linux"; };
    in {
      vmtestManifest = {
        schemaVersion = 1;
        checks = map entry [ "fetching" "throwing" ] ++ %(extra)s;
      };
      checks = forBoth (system: {
        fetching = derivation {
          name = "fetching"; inherit system; builder = "/bin/sh";
          args = [ "-c" "echo ${x} > $out" ];
        };
        throwing = throw "this check is broken on purpose";
      });
    };
}
"""
UNFETCHABLE_LOCK = {
    "nodes": {
        "root": {"inputs": {"x": "x"}},
        "x": {
            "flake": False,
            "locked": {
                "narHash": "sha256-QvnceIGTBeDvDd9oCn+GvdsnkquliuwbVgpiRH68qaQ=",
                "type": "tarball",
                "url": UNFETCHABLE_URL,
            },
            "original": {"type": "tarball", "url": UNFETCHABLE_URL},
        },
    },
    "root": "root",
    "version": 7,
}


def unfetchable_flake(tmp_path: Path, manifest_touches_input: bool = False) -> Path:
    flake = tmp_path / "unfetchable"
    flake.mkdir()
    extra = "(if x ? outPath then [ ] else [ ])" if manifest_touches_input else "[ ]"
    (flake / "flake.nix").write_text(UNFETCHABLE_FLAKE % {"url": UNFETCHABLE_URL, "extra": extra})
    (flake / "flake.lock").write_text(json.dumps(UNFETCHABLE_LOCK, indent=2))
    return flake


def one_attempt(env: dict[str, str]) -> dict[str, str]:
    """Nix retries a failed download a few times (seconds); once is enough here."""
    return {**env, "NIX_CONFIG": env["NIX_CONFIG"] + "\ndownload-attempts = 1"}


def test_unfetchable_input_is_environment_not_ready(
    nix_env: dict[str, str], tmp_path: Path
) -> None:
    flake = unfetchable_flake(tmp_path)
    res = run_vmtest(["run", "fetching", "--flake", ref(flake)], one_attempt(nix_env))
    assert res.returncode == 3, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    # Nix's words: "unable to download '<url>': Couldn't connect to server (7)" (2.8),
    # "Failed to open archive (Source threw exception: error: unable to download '<url>':
    # Could not connect to server (7) ...)" (2.26).
    expected = "error: nix could not fetch a source the evaluation needs (a flake input?): "
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert f"unable to download '{UNFETCHABLE_URL}': Could" in errors[0]
    hints = [line for line in res.stderr.splitlines() if line.startswith("  hint:")]
    assert len(hints) == 1 and "network" in hints[0] and "--option" in hints[0]
    assert "eval-error" not in res.output
    assert_clean_error(res.output)


def test_unfetchable_input_read_by_the_manifest(nix_env: dict[str, str], tmp_path: Path) -> None:
    flake = unfetchable_flake(tmp_path, manifest_touches_input=True)
    res = run_vmtest(["list", "--flake", ref(flake)], one_attempt(nix_env))
    assert res.returncode == 3, res.output
    assert res.stderr.startswith("error: nix could not fetch a source the evaluation needs")
    assert_clean_error(res.output)


def test_evaluation_error_beside_an_unfetchable_input_is_a_check_failure(
    nix_env: dict[str, str], tmp_path: Path
) -> None:
    flake = unfetchable_flake(tmp_path)
    report = tmp_path / "r.json"
    args = ["run", "throwing", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest(args, one_attempt(nix_env))
    assert res.returncode == 1, res.output
    check = load_json(report)["checks"][0]
    assert check["status"] == "eval-error"
    assert "this check is broken on purpose" in check["failure"]["message"]


def test_help_lists_the_exit_codes_of_the_readme(nix_env: dict[str, str]) -> None:
    res = run_vmtest(["--help"], nix_env)
    assert res.returncode == 0, res.output
    help_text = " ".join(res.stdout.split())  # wrapped rows joined
    assert "Exit codes:" in help_text
    readme = " ".join((Path(__file__).parents[3] / "README.md").read_text().split())
    sentence = readme.split("Exit codes: ", 1)[1].split(".", 1)[0]
    documented = [item.strip() for item in sentence.split(";")]
    assert [d.split(" ", 1)[0] for d in documented] == ["0", "1", "2", "3", "4", "130"]
    for item in documented:
        code, meaning = item.split(" ", 1)
        meaning = meaning.removeprefix("and ").split(" (", 1)[0]
        assert f" {code} {meaning}" in help_text, (code, meaning)


def test_debug_after_the_subcommand_and_dash_h(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["list", "--json", "--flake", ref(flake), "--debug"], nix_env)
    assert res.returncode == 0, res.output
    assert "debug: + nix eval --json" in res.stderr
    for args in (["-h"], ["run", "-h"], ["doctor", "-h"]):
        short = run_vmtest(args, nix_env)
        assert short.returncode == 0, (args, short.output)
        assert short.stdout == run_vmtest([*args[:-1], "--help"], nix_env).stdout


def test_run_help_shows_check_names_not_their_type(nix_env: dict[str, str]) -> None:
    res = run_vmtest(["run", "--help"], nix_env)
    assert res.returncode == 0, res.output
    assert " run [OPTIONS] [CHECK...]\n" in res.stdout.splitlines(keepends=True)[0]
    assert "  CHECK...  " in res.stdout
    assert "list[str]" not in res.stdout and "<" not in res.stdout.split("Options:")[0]
    for option in ("--tier", "--override-input", "--dry-run", "-L, --print-build-logs"):
        assert option in res.stdout, option


def test_shell_completion_is_typers_own(nix_env: dict[str, str]) -> None:
    res = run_vmtest(["--help"], nix_env)
    assert "--install-completion" in res.stdout and "--show-completion" in res.stdout
    # typer detects the shell among vmtest's parent processes: run it from bash, as a user
    # would, whatever started pytest (make, a shell, or none inside a container).
    shown = subprocess.run(
        ["bash", "-c", '"$@"; exit $?', "bash", *vmtest_argv("--show-completion")],
        env={**nix_env, "SHELL": "/bin/bash"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "complete" in shown.stdout and "vmtest" in shown.stdout


def test_a_timeout_too_large_for_a_wait_is_bad_usage(flake: Path, nix_env: dict[str, str]) -> None:
    res = run_vmtest(["run", "passing", "--flake", ref(flake), "--timeout", "1e7"], nix_env)
    assert res.returncode == 2, res.output
    assert "--timeout" in res.stderr
    assert_clean_error(res.output)


def test_a_manifest_timeout_beyond_a_week_is_invalid(flake: Path, nix_env: dict[str, str]) -> None:
    manifest = flake / "manifest.nix"
    text = manifest.read_text()
    manifest.write_text(
        text.replace(
            '(check "passing" "quick" false 30', '(check "passing" "quick" false 100000000000000000'
        )
    )
    res = run_vmtest(["run", "passing", "--flake", ref(flake)], nix_env)
    assert res.returncode == 2, res.output
    assert "timeoutSeconds" in res.stderr
    assert_clean_error(res.output)


def test_a_report_under_a_file_says_that_it_is_not_a_directory(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("")
    report = tmp_path / "afile" / "r.json"
    res = run_vmtest(["run", "passing", "--flake", ref(flake), "--report", str(report)], nix_env)
    assert res.returncode == 2, res.output
    assert f"cannot write report {report}: {tmp_path / 'afile'} is not a directory" in res.stderr


def test_report_of_a_file_that_is_not_text_is_bad_input(
    nix_env: dict[str, str], tmp_path: Path
) -> None:
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe")
    res = run_vmtest(["report", str(binary), "--markdown", str(tmp_path / "o.md")], nix_env)
    assert res.returncode == 2, res.output
    assert f"error: cannot read {binary}: not UTF-8 text" in res.stderr
    assert_clean_error(res.output)


def test_report_never_writes_over_the_report_it_reads(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    res = run_vmtest(["run", "passing", "--flake", ref(flake), "--report", str(report)], nix_env)
    assert res.returncode == 0, res.output
    before = report.read_text()
    res = run_vmtest(["report", str(report), "--markdown", str(report)], nix_env)
    assert res.returncode == 2, res.output
    assert f"error: cannot write over {report}: it is the report being converted" in res.stderr
    assert report.read_text() == before


# The eval-error check with a derivation whose arguments throw (line 6, column 5).
ARGS_THROW = """{
  check = derivation {
    name = "eval-error";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ (throw "no args for you") ];
  };
}
"""


def _nix_version() -> tuple[int, ...]:
    out = subprocess.run(["nix", "--version"], capture_output=True, text=True, check=True)
    return tuple(int(n) for n in out.stdout.split()[-1].split(".")[:2])


def test_a_throw_in_a_derivations_arguments_is_placed_in_the_users_file(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """Nix 2.26 puts such an error in `<nix/derivation-internal.nix>` and shows the frames
    after it; the report and the annotation name the user's file. Nix 2.8 gives it no
    position at all (without --show-trace): none is reported."""
    (flake / "broken.nix").write_text(ARGS_THROW)
    report = tmp_path / "r.json"
    env = {**nix_env, "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(flake)}
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary.md")
    args = ["run", "eval-error", "--flake", ref(flake), "--report", str(report)]
    res = run_vmtest(args, env, cwd=flake)
    assert res.returncode == 1, res.output
    error = check_by_name(load_json(report), "eval-error")["failure"]["evalError"]
    assert error["message"] == "no args for you"
    [annotation] = [line for line in res.stdout.splitlines() if line.startswith("::error")]
    assert "derivation-internal" not in annotation + str(error["file"])
    if _nix_version() >= (2, 26):
        assert error["file"].endswith("-source/broken.nix")
        assert (error["line"], error["column"]) == (6, 5)
        assert annotation.startswith("::error file=broken.nix,line=6,col=5")
    else:
        assert (error["file"], error["line"]) == (None, None)
        assert "file=" not in annotation


# A flake with one input, `dep` (a plain directory), that its manifest reads.
DEP_FLAKE = """{
  inputs.dep = { url = "path:%s"; flake = false; };
  outputs = { self, dep }: {
    vmtestManifest = { schemaVersion = 1; checks = [ ]; } // (if dep ? outPath then { } else { });
  };
}
"""


@pytest.mark.parametrize("override", [False, True], ids=["locked", "override"])
def test_a_path_input_that_does_not_exist_is_the_environment(
    nix_env: dict[str, str], tmp_path: Path, override: bool
) -> None:
    """A `path:` input (or --override-input) naming a missing directory is a source that
    cannot be fetched on this machine: exit 3, with Nix's reason ("getting status of
    '/nonexistent/…': No such file or directory" on 2.8, "path '//nonexistent/…' does
    not exist" on 2.26)."""
    flake, dep = tmp_path / "flake", tmp_path / "dep"
    flake.mkdir()
    dep.mkdir()
    (dep / "README").write_text("a source\n")
    missing = "/nonexistent/vmtest-dep"
    (flake / "flake.nix").write_text(DEP_FLAKE % (dep if override else missing))
    args = ["run", "x", "--flake", ref(flake)]
    if override:
        args += ["--override-input", "dep", f"path:{missing}"]
    res = run_vmtest(args, nix_env)
    assert res.returncode == 3, res.output
    [line] = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: nix could not fetch a source the evaluation needs")
    assert "/nonexistent/vmtest-dep" in line
    assert_clean_error(res.output)


def test_a_store_over_ssh_without_ssh_installed_is_the_environment(
    flake: Path, nix_env: dict[str, str], tmp_path: Path
) -> None:
    """No `ssh` on PATH: nix cannot reach an ssh-ng:// store; exit 3, saying to install
    an OpenSSH client."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("nix", "nix-instantiate", "nix-store", "sh"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {**nix_env, "PATH": str(bin_dir)}
    store = "ssh-ng://nobody@vmtest-unreachable.invalid"
    res = run_vmtest(["quick", "--flake", ref(flake), "--store", store], env)
    assert res.returncode == 3, res.output
    assert f"error: cannot reach the store {store}: " in res.stderr
    assert "'ssh'" in res.stderr  # Nix's words: it could not run ssh
    assert "hint: install an OpenSSH client" in res.stderr
    assert_clean_error(res.output)
