"""Nix versions, pass-through options and argv builders (pure; no process is run here).

Features are chosen from the running version (`NixVersion`), never assumed: Nix
2.8 (Debian 12) up to current releases. Exact argv is asserted in tests only here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import total_ordering

from vmtest.errors import BadInput, EnvironmentNotReady

_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


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
    #: `--override-input INPUT REF` pairs, for the commands that evaluate the flake.
    override_inputs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_cli(
        cls,
        builders: str | None,
        store: str | None,
        option: list[str] | None,
        override_input: list[str] | None = None,
    ) -> NixOptions:
        """The options as the command line gave them (`NAME=VALUE` items; see
        `vmtest.cli.app.join_option_pairs`)."""
        return cls(
            builders=builders,
            store=store,
            options=_pairs("--option", option),
            override_inputs=_pairs("--override-input", override_input),
        )

    @property
    def builds_remotely(self) -> bool:
        """True when builds go to other machines (remote builders or an SSH store), where
        this machine's /dev/kvm does not matter."""
        store = (self.store or "").strip()
        return bool((self.builders or "").strip()) or store.startswith(("ssh://", "ssh-ng://"))

    def with_option(self, name: str, value: str) -> NixOptions:
        options = (*self.options, (name, value))
        return NixOptions(self.builders, self.store, options, self.override_inputs)

    def argv(self) -> list[str]:
        out: list[str] = []
        if self.builders is not None:
            out += ["--builders", self.builders]
        if self.store is not None:
            out += ["--store", self.store]
        for name, value in self.options:
            out += ["--option", name, value]
        return out

    def flake_argv(self) -> list[str]:
        """`argv()` plus the input overrides (only commands given a flake take them)."""
        out = self.argv()
        for name, ref in self.override_inputs:
            out += ["--override-input", name, ref]
        return out


# ---------------------------------------------------------------- argv builders


def installable(flake: str, attr: str) -> str:
    return f"{flake}#{attr}"


def eval_json_argv(flake: str, attr: str, opts: NixOptions, apply: str | None = None) -> list[str]:
    argv = ["nix", "eval", "--json", *opts.flake_argv(), installable(flake, attr)]
    if apply is not None:
        argv += ["--apply", apply]
    return argv


def drv_path_argv(flake: str, attr: str, opts: NixOptions) -> list[str]:
    """Instantiate one check and print its .drv path; errors come as internal-json with
    their position. `path-info --derivation` goes through Nix's evaluation cache like
    `nix build` does (a warm run answers in milliseconds; `nix eval .drvPath` re-evaluates
    every time on Nix 2.8) and, unlike `build --dry-run`, queries no binary cache."""
    return [
        "nix",
        "path-info",
        "--derivation",
        "--log-format",
        "internal-json",
        *opts.flake_argv(),
        installable(flake, attr),
    ]


def drv_paths_argv(flake: str, root: str, names: Sequence[str], opts: NixOptions) -> list[str]:
    """One evaluation for several checks: the .drv path of each attribute `names` under
    `root`, as a JSON list in their order (like nix-eval-jobs, one evaluator shares the
    flake and its nixpkgs). A check whose evaluation throws is `null` there, so it does
    not hide the others' paths; an error `tryEval` cannot catch fails the whole call."""
    listed = " ".join(nix_string(name) for name in names)
    apply = (
        "checks: map (name: let r = builtins.tryEval checks.${name}.drvPath; "
        f"in if r.success then r.value else null) [ {listed} ]"
    )
    return eval_json_argv(flake, root, opts, apply)


def nix_string(text: str) -> str:
    """`text` as a Nix string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


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


def dry_run_argv(drv_path: str, opts: NixOptions) -> list[str]:
    """What building `drv_path` would build and fetch (on stderr); builds nothing."""
    return ["nix-store", *opts.argv(), "--realise", "--dry-run", drv_path]


def query_argv(flag: str, drv_path: str, opts: NixOptions) -> list[str]:
    """`nix-store --query --outputs|--requisites`: no evaluation, same on every version."""
    return ["nix-store", *opts.argv(), "--query", flag, drv_path]


def show_config_argv(
    version: NixVersion,
    extra_features: str | None = None,
    options: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """Nix's settings as JSON, with the run's `--option NAME VALUE`s applied (they change
    what Nix builds, e.g. `extra-system-features`)."""
    extra = ["--extra-experimental-features", extra_features] if extra_features else []
    given = [arg for name, value in options for arg in ("--option", name, value)]
    if version.has_config_show:
        return ["nix", *extra, "config", "show", "--json", *given]
    return ["nix", *extra, "show-config", "--json", *given]


def flakes_probe_argv() -> list[str]:
    # `builtins.getFlake` exists exactly when the flakes feature is on, on every version,
    # and nix-instantiate works even when nix-command is off.
    return ["nix-instantiate", "--eval", "--json", "--expr", "builtins ? getFlake"]


def info_argv(opts: NixOptions) -> list[str]:
    """Version and current system in one process; nix-instantiate works with flakes off."""
    expr = "{ version = builtins.nixVersion; system = builtins.currentSystem; }"
    return ["nix-instantiate", *opts.argv(), "--eval", "--strict", "--json", "--expr", expr]


def _pairs(flag: str, items: list[str] | None) -> tuple[tuple[str, str], ...]:
    """`NAME=VALUE` items as pairs; a value may contain `=`."""
    pairs: list[tuple[str, str]] = []
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            two = (
                "INPUT REF or INPUT=REF"
                if flag == "--override-input"
                else "NAME VALUE or NAME=VALUE"
            )
            raise BadInput(f"{flag} expects {two}, got {item!r}")
        pairs.append((name, value))
    return tuple(pairs)
