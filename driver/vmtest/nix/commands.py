"""One small function per nix command, returning typed values.

The argv comes from `vmtest.nix.argv` (pure builders); every call goes through
`vmtest.nix.process`. Errors the user must act on become `VmtestError`s here: what
`vmtest.nix.failures` finds about the environment (exit 3: flakes off, an unreachable
store or builder, a source evaluation cannot fetch; exit 2: an `--override-input`
naming no input), other failures exit 2 with Nix's own reason, and a failing check
build is not an error at all (`vmtest.checks.decide` decides what it means).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vmtest.errors import BadInput, ExitCode, VmtestError
from vmtest.nix import failures, messages, process
from vmtest.nix.argv import (
    NixOptions,
    NixVersion,
    build_argv,
    drv_path_argv,
    drv_paths_argv,
    eval_json_argv,
    flakes_probe_argv,
    info_argv,
    query_argv,
    read_log_argv,
    show_config_argv,
)
from vmtest.nix.failures import (
    raise_if_environment,
    raise_if_unfetchable,
    raise_if_unmatched_override,
)
from vmtest.text import strip_ansi

# What callers of this module have always found here.
FLAKES_HINT = failures.FLAKES_HINT
error_messages = failures.error_messages


class NixCommandFailed(VmtestError):
    """A nix command exited non-zero for a reason the user has to look at."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, argv: Sequence[str], returncode: int, stderr_tail: Sequence[str]) -> None:
        lines = [strip_ansi(line) for line in stderr_tail if line.strip()]
        said = error_messages(stderr_tail)
        if any(messages.is_error(m) for m in said):
            summary = messages.reason("\n".join(said))
        else:
            summary = lines[-1] if lines else f"exit code {returncode}"
        super().__init__(
            f"{_what_failed(argv)}: {summary.removeprefix('error:').strip()}",
            hint="`vmtest --debug ...` prints each nix command; run it to see all of its output",
        )
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = lines


def _what_failed(argv: Sequence[str]) -> str:
    """`cannot evaluate <flake>#<attr>` for an evaluation, else `<nix command> failed`."""
    installable = next((a for a in argv[1:] if "#" in a), None)
    if argv[1:2] == ["eval"] and installable is not None:
        return f"cannot evaluate {installable}"
    return f"{argv[0]} {argv[1] if len(argv) > 1 else ''} failed".replace("  ", " ")


# ---------------------------------------------------------------- calls


def version() -> NixVersion:
    done = process.run(["nix", "--version"], timeout=30)
    if done.returncode != 0:
        raise NixCommandFailed(done.argv, done.returncode, done.stderr_tail)
    return NixVersion.parse(done.stdout)


def info(opts: NixOptions, timeout: float | None = None) -> tuple[NixVersion, str]:
    """(language version, current system) of the nix on PATH, from one cheap call."""
    done = _checked(info_argv(opts), timeout=min(60, timeout or 60))
    data = json.loads(done.stdout)
    return NixVersion.parse(str(data["version"])), str(data["system"])


def eval_json(
    flake: str,
    attr: str,
    opts: NixOptions,
    apply: str | None = None,
    timeout: float | None = None,
) -> str:
    """Evaluate one flake attribute; returns the JSON text nix printed (raises on failure)."""
    limit = min(300, timeout or 300)
    argv = eval_json_argv(flake, attr, opts, apply)
    return _checked(argv, timeout=limit, grace=process.EVAL_GRACE_SECONDS).stdout


def check_names(
    flake: str, system: str, opts: NixOptions, timeout: float | None = None
) -> list[str]:
    """Names under checks.<system>, without forcing any derivation."""
    text = eval_json(flake, f"checks.{system}", opts, apply="builtins.attrNames", timeout=timeout)
    try:
        names = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"`nix eval --json` did not print JSON: {text[:200]!r}") from exc
    if not isinstance(names, list):
        raise BadInput(f"checks.{system} of {flake} is not an attribute set")
    return [str(n) for n in names]


def instantiate(
    flake: str,
    attr: str,
    opts: NixOptions,
    on_line: process.LineHandler,
    timeout: float | None,
) -> process.Completed:
    """Instantiate `attr` (its .drv path on stdout); the caller decides what the result means: an
    evaluation error is a check result, not an exception."""
    done = process.run(
        drv_path_argv(flake, attr, opts),
        timeout=timeout,
        on_stderr_line=on_line,
        grace=process.EVAL_GRACE_SECONDS,
    )
    _raise_if_evaluation_error(done)
    return done


def drv_paths(
    flake: str, root: str, names: Sequence[str], opts: NixOptions, timeout: float | None
) -> tuple[list[str | None] | None, process.Completed]:
    """The .drv path of each check `names` under `root` from ONE evaluation (None for a
    check whose evaluation threw), or None when the evaluation as a whole failed (the
    caller evaluates each check alone to tell whose error it is). What is not about the
    checks themselves (environment, input overrides, fetching) raises as for `instantiate`."""
    done = process.run(
        drv_paths_argv(flake, root, names, opts),
        timeout=timeout,
        grace=process.EVAL_GRACE_SECONDS,
    )
    _raise_if_evaluation_error(done)
    if done.returncode != 0:
        return None, done
    try:
        paths = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None, done
    if not isinstance(paths, list) or len(paths) != len(names):
        return None, done
    return [p if isinstance(p, str) and p.endswith(".drv") else None for p in paths], done


def build(
    drv_paths: Sequence[str],
    version_: NixVersion,
    opts: NixOptions,
    on_line: process.LineHandler,
    timeout: float | None,
) -> process.Completed:
    """Build derivations, streaming the internal-json log; non-zero exit is not raised."""
    done = process.run(
        build_argv(drv_paths, version_, opts), timeout=timeout, on_stderr_line=on_line
    )
    raise_if_environment(done)
    return done


def parse_build_json(stdout: str) -> dict[str, list[str]]:
    """`nix build --json` output -> {drvPath: [output paths]} (empty when nix printed none)."""
    try:
        entries = json.loads(stdout) if stdout.strip() else []
    except json.JSONDecodeError:
        return {}
    result: dict[str, list[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("outputs"), dict):
            result[str(entry.get("drvPath"))] = [str(p) for p in entry["outputs"].values()]
    return result


def valid_outputs(drv_path: str, opts: NixOptions) -> list[str]:
    """Output paths of a derivation that exist in the store (a check built before)."""
    done = process.run(query_argv("--outputs", drv_path, opts), timeout=60)
    if done.returncode != 0:
        return []
    return [p for p in done.stdout.split() if Path(p).exists()]


def requisites(drv_path: str, opts: NixOptions) -> set[str]:
    """Every store path in the closure of a .drv (its dependencies' .drv files included)."""
    done = process.run(query_argv("--requisites", drv_path, opts), timeout=60)
    return set(done.stdout.split()) if done.returncode == 0 else set()


def read_log(drv_path: str, opts: NixOptions, on_line: process.LineHandler) -> bool:
    """Stream the stored build log of a derivation to `on_line`; False when nix has none."""
    done = process.run(read_log_argv(drv_path, opts), timeout=60, on_stdout_line=on_line)
    return done.returncode == 0


def flakes_enabled() -> bool:
    done = process.run(flakes_probe_argv(), timeout=30)
    return done.returncode == 0 and done.stdout.strip() == "true"


def show_config(
    version_: NixVersion,
    extra_features: str | None = None,
    options: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Nix settings as {name: value}, with `--option NAME VALUE`s `options` applied."""
    done = _checked(show_config_argv(version_, extra_features, options), timeout=60)
    data = json.loads(done.stdout)
    return {str(k): v.get("value") if isinstance(v, dict) else v for k, v in data.items()}


# ---------------------------------------------------------------- helpers


def _raise_if_evaluation_error(done: process.Completed) -> None:
    """What an evaluating nix command said that is not about the check itself: the
    environment (exit 3), an --override-input matching no input (exit 2), an unfetchable
    source (exit 3)."""
    raise_if_environment(done)
    raise_if_unmatched_override(done)
    raise_if_unfetchable(done)


def _checked(
    argv: list[str], timeout: float, grace: float = process.KILL_GRACE_SECONDS
) -> process.Completed:
    done = process.run(argv, timeout=timeout, grace=grace)
    _raise_if_evaluation_error(done)
    if done.returncode != 0:
        raise NixCommandFailed(argv, done.returncode, done.stderr_tail)
    return done
