"""Argv builders and one small function per nix command, returning typed values.

Works with Nix 2.8 (Debian 12) up to current releases: features are chosen
from the running version (`NixVersion`), never assumed. Argv builders are pure
(tested on their exact output); the calls go through `vmtest.process`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import total_ordering
from pathlib import Path
from typing import Any

from vmtest import process
from vmtest.errors import BadInput, EnvironmentNotReady, ExitCode, VmtestError

_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_EXPERIMENTAL_RE = re.compile(r"experimental Nix feature '([a-z-]+)' is disabled")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

FLAKES_HINT = (
    'enable them: add "experimental-features = nix-command flakes" to ~/.config/nix/nix.conf '
    '(or export NIX_CONFIG="experimental-features = nix-command flakes")'
)


class NixCommandFailed(VmtestError):
    """A nix command exited non-zero for a reason the user has to look at."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, argv: Sequence[str], returncode: int, stderr_tail: Sequence[str]) -> None:
        lines = [strip_ansi(line) for line in stderr_tail if line.strip()]
        first_error = next((line for line in lines if line.startswith("error:")), None)
        summary = first_error or (lines[-1] if lines else f"exit code {returncode}")
        super().__init__(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} failed: {summary}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = lines


@total_ordering
@dataclass(frozen=True)
class NixVersion:
    """`nix --version`, e.g. "nix (Nix) 2.8.0" or "nix (Nix) 2.26.3"."""

    major: int
    minor: int
    patch: int = 0
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> NixVersion:
        # The last dotted number wins: "nix (Lix, like Nix) 2.91.1" or
        # "nix (Determinate Nix 3.8.2) 2.30.1" name the Nix language level last.
        matches = _VERSION_RE.findall(text)
        if not matches:
            raise EnvironmentNotReady(f"cannot read the nix version from {text.strip()!r}")
        major, minor, patch = matches[-1]
        return cls(int(major), int(minor), int(patch or 0), text.strip())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, NixVersion):
            return NotImplemented
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def has_drv_output_selector(self) -> bool:
        """`/nix/store/x.drv^*` selects outputs (Nix 2.13 release notes, NixOS/nix
        doc/manual/source/release-notes/rl-2.13.md); 2.8 rejects it as "not a valid URL".
        Newer Nix treats a bare `.drv` path as the derivation file itself, so the
        selector is required there."""
        return (self.major, self.minor) >= (2, 13)

    @property
    def has_config_show(self) -> bool:
        """`nix config show` replaced `nix show-config` in Nix 2.20."""
        return (self.major, self.minor) >= (2, 20)


@dataclass(frozen=True)
class NixOptions:
    """Pass-through options for every nix call (remote builders, stores, caches)."""

    builders: str | None = None
    store: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    def argv(self) -> list[str]:
        out: list[str] = []
        if self.builders is not None:
            out += ["--builders", self.builders]
        if self.store is not None:
            out += ["--store", self.store]
        for name, value in self.options:
            out += ["--option", name, value]
        return out


# ---------------------------------------------------------------- argv builders


def installable(flake: str, attr: str) -> str:
    return f"{flake}#{attr}"


def eval_json_argv(flake: str, attr: str, opts: NixOptions, apply: str | None = None) -> list[str]:
    argv = ["nix", "eval", "--json", *opts.argv(), installable(flake, attr)]
    if apply is not None:
        argv += ["--apply", apply]
    return argv


def drv_path_argv(flake: str, attr: str, opts: NixOptions) -> list[str]:
    """Instantiate one check; errors come as internal-json with their position."""
    return [
        "nix",
        "eval",
        "--raw",
        "--log-format",
        "internal-json",
        *opts.argv(),
        installable(flake, f"{attr}.drvPath"),
    ]


def drv_installable(drv_path: str, version: NixVersion) -> str:
    return f"{drv_path}^*" if version.has_drv_output_selector else drv_path


def build_argv(drv_paths: Sequence[str], version: NixVersion, opts: NixOptions) -> list[str]:
    return [
        "nix",
        "build",
        "--json",
        "--no-link",
        "--keep-going",
        "--log-format",
        "internal-json",
        "-v",
        *opts.argv(),
        *(drv_installable(drv, version) for drv in drv_paths),
    ]


def read_log_argv(drv_path: str, opts: NixOptions) -> list[str]:
    # The legacy command reads build logs the same way on every Nix version.
    return ["nix-store", *opts.argv(), "--read-log", drv_path]


def query_argv(flag: str, drv_path: str, opts: NixOptions) -> list[str]:
    """`nix-store --query --outputs|--requisites`: no evaluation, same on every version."""
    return ["nix-store", *opts.argv(), "--query", flag, drv_path]


def show_config_argv(version: NixVersion, extra_features: str | None = None) -> list[str]:
    extra = ["--extra-experimental-features", extra_features] if extra_features else []
    if version.has_config_show:
        return ["nix", *extra, "config", "show", "--json"]
    return ["nix", *extra, "show-config", "--json"]


def flakes_probe_argv() -> list[str]:
    # `builtins.getFlake` exists exactly when the flakes feature is on, on every version,
    # and nix-instantiate works even when nix-command is off.
    return ["nix-instantiate", "--eval", "--json", "--expr", "builtins ? getFlake"]


def current_system_argv(opts: NixOptions) -> list[str]:
    return [
        "nix-instantiate",
        *opts.argv(),
        "--eval",
        "--json",
        "--expr",
        "builtins.currentSystem",
    ]


def info_argv(opts: NixOptions) -> list[str]:
    """Version and current system in one process; nix-instantiate works with flakes off."""
    expr = "{ version = builtins.nixVersion; system = builtins.currentSystem; }"
    return ["nix-instantiate", *opts.argv(), "--eval", "--strict", "--json", "--expr", expr]


# ---------------------------------------------------------------- calls


Env = Mapping[str, str] | None


def version(env: Env = None) -> NixVersion:
    done = process.run(["nix", "--version"], timeout=30, env=env)
    if done.returncode != 0:
        raise NixCommandFailed(done.argv, done.returncode, done.stderr_tail)
    return NixVersion.parse(done.stdout)


def info(opts: NixOptions, env: Env = None) -> tuple[NixVersion, str]:
    """(language version, current system) of the nix on PATH, from one cheap call."""
    done = _checked(info_argv(opts), env, timeout=60)
    data = json.loads(done.stdout)
    return NixVersion.parse(str(data["version"])), str(data["system"])


def current_system(opts: NixOptions, env: Env = None) -> str:
    done = _checked(current_system_argv(opts), env, timeout=60)
    return str(json.loads(done.stdout))


def eval_json(
    flake: str, attr: str, opts: NixOptions, apply: str | None = None, env: Env = None
) -> tuple[Any, process.Completed]:
    """Evaluate one flake attribute to JSON; raises on failure, `ValueError` never escapes."""
    done = _checked(eval_json_argv(flake, attr, opts, apply), env, timeout=300)
    try:
        return json.loads(done.stdout), done
    except json.JSONDecodeError as exc:
        snippet = done.stdout[:200]
        raise BadInput(
            f"`nix eval --json {installable(flake, attr)}` did not print JSON: {snippet!r}"
        ) from exc


def check_names(flake: str, system: str, opts: NixOptions, env: Env = None) -> list[str]:
    """Names under checks.<system>, without forcing any derivation."""
    names, _ = eval_json(flake, f"checks.{system}", opts, apply="builtins.attrNames", env=env)
    if not isinstance(names, list):
        raise BadInput(f"checks.{system} of {flake} is not an attribute set")
    return [str(n) for n in names]


def instantiate(
    flake: str,
    attr: str,
    opts: NixOptions,
    on_line: process.LineHandler,
    timeout: float | None,
    env: Env = None,
) -> process.Completed:
    """Evaluate `attr.drvPath`; the caller judges the result (an eval error is a check result)."""
    done = process.run(
        drv_path_argv(flake, attr, opts), timeout=timeout, env=env, on_stderr_line=on_line
    )
    raise_if_environment(done)
    return done


def build(
    drv_paths: Sequence[str],
    version_: NixVersion,
    opts: NixOptions,
    on_line: process.LineHandler,
    timeout: float | None,
    env: Env = None,
) -> process.Completed:
    """Build derivations, streaming the internal-json log; non-zero exit is not raised."""
    done = process.run(
        build_argv(drv_paths, version_, opts), timeout=timeout, env=env, on_stderr_line=on_line
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


def valid_outputs(drv_path: str, opts: NixOptions, env: Env = None) -> list[str]:
    """Output paths of a derivation that exist in the store (a check built before)."""
    done = process.run(query_argv("--outputs", drv_path, opts), timeout=60, env=env)
    if done.returncode != 0:
        return []
    return [p for p in done.stdout.split() if Path(p).exists()]


def requisites(drv_path: str, opts: NixOptions, env: Env = None) -> set[str]:
    """Every store path in the closure of a .drv (its dependencies' .drv files included)."""
    done = process.run(query_argv("--requisites", drv_path, opts), timeout=60, env=env)
    return set(done.stdout.split()) if done.returncode == 0 else set()


def read_log(drv_path: str, opts: NixOptions, env: Env = None) -> list[str] | None:
    """The stored build log of a derivation, or None when nix has none."""
    done = process.run(read_log_argv(drv_path, opts), timeout=60, env=env)
    if done.returncode != 0:
        return None
    return done.stdout.splitlines()


def flakes_enabled(env: Env = None) -> bool:
    done = process.run(flakes_probe_argv(), timeout=30, env=env)
    return done.returncode == 0 and done.stdout.strip() == "true"


def show_config(
    version_: NixVersion, env: Env = None, extra_features: str | None = None
) -> dict[str, Any]:
    """Nix settings as {name: value}."""
    done = _checked(show_config_argv(version_, extra_features), env, timeout=60)
    data = json.loads(done.stdout)
    return {str(k): v.get("value") if isinstance(v, dict) else v for k, v in data.items()}


# ---------------------------------------------------------------- helpers


def strip_ansi(text: str) -> str:
    return _ANSI_RE.sub("", text)


def raise_if_environment(done: process.Completed) -> None:
    """Turn "experimental feature disabled" into exit 3 with the fix."""
    if done.returncode == 0:
        return
    for line in done.stderr_tail:
        match = _EXPERIMENTAL_RE.search(strip_ansi(line))
        if match:
            raise EnvironmentNotReady(
                f"Nix flakes are disabled (experimental feature '{match.group(1)}' is off)",
                hint=FLAKES_HINT,
            )


def _checked(
    argv: list[str], env: Env, timeout: float, on_line: Callable[[str], None] | None = None
) -> process.Completed:
    done = process.run(argv, timeout=timeout, env=env, on_stderr_line=on_line)
    raise_if_environment(done)
    if done.returncode != 0:
        raise NixCommandFailed(argv, done.returncode, done.stderr_tail)
    return done
