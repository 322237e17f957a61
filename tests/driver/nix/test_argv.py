"""Argv builders and version feature detection (exact argv is asserted only here)."""

from __future__ import annotations

import pytest
from vmtest.errors import EnvironmentNotReady
from vmtest.nix.argv import (
    NixOptions,
    NixVersion,
    build_argv,
    drv_path_argv,
    dry_run_argv,
    eval_json_argv,
    read_log_argv,
    show_config_argv,
)
from vmtest.nix.commands import parse_build_json
from vmtest.nix.failures import raise_if_unfetchable
from vmtest.nix.process import Completed

V28 = NixVersion.parse("nix (Nix) 2.8.0")
V226 = NixVersion.parse("nix (Nix) 2.26.3")
DRV = "/nix/store/43arx3zyfv7lmfd4c6ml20672m7h43cg-ok.drv"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nix (Nix) 2.8.0\n", (2, 8, 0)),
        ("nix (Nix) 2.26.3", (2, 26, 3)),
        ("nix (Lix, like Nix) 2.91.1", (2, 91, 1)),
        ("nix (Determinate Nix 3.8.2) 2.30.1", (2, 30, 1)),
        ("nix (Nix) 2.24", (2, 24, 0)),
    ],
)
def test_version_parse(text: str, expected: tuple[int, int, int]) -> None:
    v = NixVersion.parse(text)
    assert (v.major, v.minor, v.patch) == expected


def test_version_garbage() -> None:
    with pytest.raises(EnvironmentNotReady):
        NixVersion.parse("command not found")


def test_feature_detection() -> None:
    assert not V28.has_drv_output_selector and V226.has_drv_output_selector
    assert (
        NixVersion(2, 13).has_drv_output_selector
        and not NixVersion(2, 12, 9).has_drv_output_selector
    )
    assert show_config_argv(V28) == ["nix", "show-config", "--json"]
    assert show_config_argv(V226) == ["nix", "config", "show", "--json"]
    assert show_config_argv(V28, "nix-command") == [
        "nix", "--extra-experimental-features", "nix-command", "show-config", "--json",
    ]  # fmt: skip


def test_build_argv_selects_outputs_by_version() -> None:
    opts = NixOptions()
    common = [
        "nix",
        "build",
        "--json",
        "--no-link",
        "--keep-going",
        "--log-format",
        "internal-json",
        "-v",
    ]
    assert build_argv([DRV], V28, opts) == [*common, DRV]
    assert build_argv([DRV], V226, opts) == [*common, f"{DRV}^*"]


def test_pass_through_options() -> None:
    opts = NixOptions(builders="ssh://b x86_64-linux", store="daemon", options=(("cores", "4"),))
    assert eval_json_argv(".", "vmtestManifest", opts, apply="builtins.attrNames") == [
        "nix", "eval", "--json",
        "--builders", "ssh://b x86_64-linux", "--store", "daemon", "--option", "cores", "4",
        ".#vmtestManifest", "--apply", "builtins.attrNames",
    ]  # fmt: skip
    assert drv_path_argv("path:/f", "checks.x86_64-linux.a", opts) == [
        "nix", "path-info", "--derivation", "--log-format", "internal-json",
        "--builders", "ssh://b x86_64-linux", "--store", "daemon", "--option", "cores", "4",
        "path:/f#checks.x86_64-linux.a",
    ]  # fmt: skip
    assert read_log_argv(DRV, NixOptions(store="daemon")) == [
        "nix-store", "--store", "daemon", "--read-log", DRV,
    ]  # fmt: skip


def test_override_inputs_go_to_the_commands_given_a_flake_only() -> None:
    opts = NixOptions(store="daemon", override_inputs=(("nixpkgs", "path:/src/nixpkgs"),))
    override = ["--override-input", "nixpkgs", "path:/src/nixpkgs"]
    assert eval_json_argv(".", "vmtestManifest", opts) == [
        "nix", "eval", "--json", "--store", "daemon", *override, ".#vmtestManifest",
    ]  # fmt: skip
    assert drv_path_argv(".", "checks.x86_64-linux.a", opts)[-4:-1] == override
    # A derivation path is no flake: nix build and nix-store get no override.
    assert "--override-input" not in build_argv([DRV], NixVersion(2, 8), opts)
    assert dry_run_argv(DRV, opts) == [
        "nix-store", "--store", "daemon", "--realise", "--dry-run", DRV,
    ]  # fmt: skip
    assert opts.with_option("eval-cache", "false").override_inputs == opts.override_inputs


def test_parse_build_json() -> None:
    out = (
        '[{"drvPath":"/nix/store/a.drv","outputs":{"out":"/nix/store/a","doc":"/nix/store/a-doc"}}]'
    )
    assert parse_build_json(out) == {"/nix/store/a.drv": ["/nix/store/a", "/nix/store/a-doc"]}
    assert parse_build_json("") == {}
    assert parse_build_json("not json") == {}


def test_builds_remotely() -> None:
    assert not NixOptions().builds_remotely
    assert not NixOptions(builders="").builds_remotely
    assert not NixOptions(store="daemon").builds_remotely
    assert NixOptions(builders="ssh://kvm-box x86_64-linux").builds_remotely
    assert NixOptions(store="ssh-ng://kvm-box").builds_remotely


def _failed(*stderr: str) -> Completed:
    return Completed(["nix", "path-info"], 1, "", list(stderr), 0.1)


FETCH_ERROR = (
    '@nix {"action":"msg","level":0,"msg":"\\u001b[31;1merror:\\u001b[0m unable to download '
    "'https://127.0.0.1:9/x.tar.gz': Couldn't connect to server (7)\"}"
)


def test_a_fetch_error_of_the_evaluation_is_environment_not_ready() -> None:
    retry = FETCH_ERROR.replace('"level":0', '"level":1')  # "warning: ... retrying"
    with pytest.raises(EnvironmentNotReady, match=r"could not fetch .*: unable to download '"):
        raise_if_unfetchable(_failed(retry, FETCH_ERROR))
    with pytest.raises(EnvironmentNotReady, match=r"Could not resolve host: github\.com"):
        raise_if_unfetchable(
            _failed(
                "fatal: unable to access 'https://github.com/o/r/': "
                "Could not resolve host: github.com",
                "error: program 'git' failed with exit code 128",
            )
        )


def test_a_fetch_error_behind_newer_nix_trace_lines() -> None:
    message = (
        "error:\\n       … while fetching the input 'https://127.0.0.1:9/x.tar.gz'\\n\\n"
        "       error: unable to download 'https://127.0.0.1:9/x.tar.gz': Couldn't connect"
    )
    line = '@nix {"action":"msg","level":0,"msg":"' + message + '"}'
    with pytest.raises(EnvironmentNotReady, match=r"\(a flake input\?\): unable to download '"):
        raise_if_unfetchable(_failed(line))


def test_a_builder_quoting_a_network_error_is_not_an_environment_problem() -> None:
    builder = (
        '@nix {"action":"msg","level":0,"msg":"error: builder for \'/nix/store/'
        "x-t.drv' failed with exit code 1; last 1 log lines:\\n> curl: (6) Could not resolve "
        'host: example.org"}'
    )
    log_line = '@nix {"action":"result","fields":["curl: Could not resolve host"],"type":101}'
    raise_if_unfetchable(_failed(log_line, builder))  # no exception: the check failed
    ok = Completed(["nix"], 0, "", [FETCH_ERROR], 0.1)
    raise_if_unfetchable(ok)  # a retried download that then worked
