"""Nix's own words and positions from its error text, on Nix 2.8 and 2.26.

The texts are Nix's stderr (ANSI stripped), recorded here with Debian's nix-bin: 2.8.0
(Debian 12) and 2.26.3 (Debian 13), on the fixture flakes of these tests.
"""

from __future__ import annotations

import json

import pytest
from vmtest.errors import ExitCode
from vmtest.nix import messages
from vmtest.nix.commands import NixCommandFailed
from vmtest.nix.logerrors import ErrorLog
from vmtest.nix.logevents import EvalError

STORE = "/nix/store/79ayh4a8mccjn57s7jqdwj57hdxqajbh-source"

# `nix eval --json <flake>#vmtestManifest` where manifest.nix is `throw "..."`.
MANIFEST_THROW_2_8 = """error: the manifest is broken
(use '--show-trace' to show detailed location information)"""
MANIFEST_THROW_2_26 = f"""error:
       … while calling the 'import' builtin
         at {STORE}/flake.nix:33:24:
           32|     {{
           33|       vmtestManifest = import ./manifest.nix;
             |                        ^
           34|

       … while evaluating the file '{STORE}/manifest.nix':

       … while calling the 'throw' builtin
         at {STORE}/manifest.nix:1:1:
            1| throw "the manifest is broken"
             | ^
            2|

       error: the manifest is broken"""

# A derivation whose `args` throw (check.nix, line 5), Nix 2.26.
ARGS_THROW_2_26 = """error:
       … while calling the 'derivationStrict' builtin
         at <nix/derivation-internal.nix>:37:12:
           36|
           37|   strict = derivationStrict drvAttrs;
             |            ^
           38|

       … while evaluating derivation 'thrower'
         whose name attribute is located at /nix/store/gy4i9fyq5bp1i5qqy1b2xf9vx7pjsmrc-source/check.nix:2:3

       … while evaluating attribute 'args' of derivation 'thrower'
         at /nix/store/gy4i9fyq5bp1i5qqy1b2xf9vx7pjsmrc-source/check.nix:5:3:
            4|   builder = "/bin/sh";
            5|   args = [ (throw "no args for you") ];
             |   ^
            6| }

       (stack trace truncated; use '--show-trace' to show the full, detailed trace)

       error: no args for you"""

# `nix build` with unreachable --builders, Nix 2.26 (the message has no trace).
NO_BUILD_2_26 = """error:
                           Unable to start any build;
                           remote machines may not have all required system features.

                           For more information run 'man nix.conf' and search for '/machines'."""

# The offline check's type error, Nix 2.26: the message continues on the next line.
TYPE_ERROR_2_26 = """error:
       … while evaluating the attribute 'findings'
         at /src/tests/unit/offline.nix:525:3:
          524|   );
          525|   findings = r.analyse data;
             |   ^

       … while reading nixosConfigurations.vm for the quick tier's analysis

       (stack trace truncated; use '--show-trace' to show the full, detailed trace)

       error: A definition for option `services.openssh.ports' is not of type `listOf port'. Definition values:
       - In `extraConfig': "22\""""

# A missing attribute with its own position, Nix 2.8 and 2.26 (fixture broken.nix).
SOURCE = "/nix/store/bnlydl7n5mj4qb7xlly0kh7cva27xdzw-source"
MISSING_2_8 = f"""error: attribute 'drv' missing

       at {SOURCE}/broken.nix:6:11:

            5| {{
            6|   check = parts.drv;
             |           ^
            7| }}"""
MISSING_2_26 = f"""error:
       … while evaluating the attribute 'check'
         at {SOURCE}/broken.nix:6:3:
            5| {{
            6|   check = parts.drv;
             |   ^
            7| }}

       error: attribute 'drv' missing
       at {SOURCE}/broken.nix:6:11:
            5| {{
            6|   check = parts.drv;
             |           ^
            7| }}"""


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (MANIFEST_THROW_2_8, "the manifest is broken"),
        (MANIFEST_THROW_2_26, "the manifest is broken"),
        (ARGS_THROW_2_26, "no args for you"),
        (MISSING_2_8, "attribute 'drv' missing"),
        (MISSING_2_26, "attribute 'drv' missing"),
        (
            NO_BUILD_2_26,
            "Unable to start any build; remote machines may not have all required system features.",
        ),
        (
            TYPE_ERROR_2_26,
            (
                "A definition for option `services.openssh.ports' is not of type `listOf port'. "
                'Definition values: - In `extraConfig\': "22"'
            ),
        ),
    ],
    ids=["throw-2.8", "throw-2.26", "args-2.26", "missing-2.8", "missing-2.26", "builds", "type"],
)
def test_a_failed_commands_error_is_nixs_own_message_without_the_trace(
    text: str, said: str
) -> None:
    argv = ["nix", "eval", "--json", "path:/f#lib.vmtestManifest"]
    error = NixCommandFailed(argv, 1, text.splitlines())
    assert error.message == f"cannot evaluate path:/f#lib.vmtestManifest: {said}"
    assert error.exit_code is ExitCode.BAD_INPUT


def test_the_first_of_two_errors_says_why() -> None:
    """Nix 2.8 without `ssh`: the second error only says that the first one happened."""
    lines = [
        "error: unable to execute 'ssh': No such file or directory",
        "error: cannot open connection to remote store 'ssh-ng://h': error: unexpected end-of-file",
    ]
    error = NixCommandFailed(["nix", "path-info", "x"], 1, lines)
    assert (
        error.message == "nix path-info failed: unable to execute 'ssh': No such file or directory"
    )


@pytest.mark.parametrize("text", [MISSING_2_8, MISSING_2_26], ids=["2.8", "2.26"])
def test_an_errors_own_position_is_where_it_is(text: str) -> None:
    assert messages.error_position(text) == messages.Position(f"{SOURCE}/broken.nix", 6, 11)


def test_a_throw_without_a_position_is_at_its_innermost_frame_in_the_flake() -> None:
    assert messages.error_position(MANIFEST_THROW_2_26) == messages.Position(
        f"{STORE}/manifest.nix", 1, 1
    )


def test_a_derivations_argument_is_in_the_users_file_not_nixs_own() -> None:
    position = messages.error_position(ARGS_THROW_2_26)
    assert position == messages.Position(
        "/nix/store/gy4i9fyq5bp1i5qqy1b2xf9vx7pjsmrc-source/check.nix", 5, 3
    )


def test_only_nixs_own_files_give_no_position() -> None:
    text = ARGS_THROW_2_26.split("       … while evaluating derivation")[0] + "\n error: x"
    assert messages.error_position(text) is None


def _json_error(record: dict[str, object]) -> EvalError:
    log = ErrorLog(on_build_failure=lambda _failure: None)
    [event] = log.message(record)
    [error] = list(log.eval_errors)
    assert event is not None
    return error


def test_nix_2_26s_json_file_holding_line_and_column_is_split() -> None:
    """Nix 2.26 writes the JSON record's `file` as "<path>:<line>:<column>"."""
    record = json.loads(
        '{"action":"msg","column":11,"file":"' + SOURCE + '/broken.nix:6:11","level":0,'
        '"line":6,"msg":' + json.dumps(MISSING_2_26) + ',"raw_msg":"attribute \'drv\' missing"}'
    )
    error = _json_error(record)
    assert (error.file, error.line, error.column) == (f"{SOURCE}/broken.nix", 6, 11)
    assert error.message == "attribute 'drv' missing"


def test_a_json_error_without_position_fields_takes_it_from_the_trace() -> None:
    record: dict[str, object] = {"action": "msg", "column": None, "file": None, "level": 0}
    record |= {"line": None, "msg": ARGS_THROW_2_26, "raw_msg": "no args for you"}
    error = _json_error(record)
    assert error.file is not None and error.file.endswith("-source/check.nix")
    assert (error.line, error.column) == (5, 3)


def test_no_builder_to_start_a_build_on_is_not_an_evaluation_error() -> None:
    """Nix 2.26 capitalises "Unable to start any build": still about running Nix."""
    log = ErrorLog(on_build_failure=lambda _failure: None)
    log.message({"action": "msg", "level": 0, "msg": NO_BUILD_2_26})
    assert list(log.eval_errors) == []
