"""Which checks a command runs: the flake's manifest, validated, and the selection.

The manifest comes only from `nix eval --json <flake>#lib.vmtestManifest` (or a
top-level `vmtestManifest`, see MANIFEST_ATTRS); it is
checked against the names under `checks.<system>` (a cheap `builtins.attrNames`
that forces no derivation). Unknown names and checks of another system are bad
input (exit 2), with the closest name suggested. Globs (`vm-*`) match the names of
the checks defined for the system; `--tier` adds every check of a tier.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from vmtest.checks.manifest import Check, Manifest, check_defined, parse_manifest
from vmtest.errors import BadInput
from vmtest.nix import commands, process
from vmtest.nix.argv import NixOptions


@dataclass(frozen=True)
class Loaded:
    """A validated manifest, the system it was checked for, and the names the flake
    defines under checks.<system> (None when the manifest lists no check for it)."""

    manifest: Manifest
    system: str
    defined: tuple[str, ...] | None = None

    def unlisted(self) -> list[str]:
        """The flake's checks for the system that the manifest does not list: vmtest
        knows nothing of them (tier, timeout, KVM), so it does not run them."""
        listed = {c.name for c in self.manifest.checks}
        return [n for n in self.defined or () if n not in listed]


def load(flake: str, system: str, opts: NixOptions, timeout: float | None = None) -> Loaded:
    """The flake's manifest (`MANIFEST_ATTRS`), validated, and checked against the flake;
    `timeout` (seconds) bounds each of the two evaluations."""
    # The two evaluations are independent: run them side by side (each is a nix start-up).
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        names = pool.submit(commands.check_names, flake, system, opts, timeout)
        attr, text = _manifest_json(flake, opts, timeout)
        manifest = parse_manifest(text, source=f"{flake}#{attr}")
        defined = names.result() if manifest.for_system(system) else None
    except BaseException:
        # Stop the other evaluation, also when its thread is only about to start it.
        with process.stopping():
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if defined is None:
        return Loaded(manifest, system)
    check_defined(manifest, system, defined)
    return Loaded(manifest, system, tuple(defined))


def load_manifest(
    flake: str, system: str, opts: NixOptions, timeout: float | None = None
) -> Manifest:
    """The flake's manifest, validated and checked against the flake (see `load`)."""
    return load(flake, system, opts, timeout).manifest


def load_for(flake: str, system: str | None, opts: NixOptions) -> Loaded:
    """`load` for `system` (default: the current one, from `nix config show`)."""
    return load(flake, system or commands.info(opts)[1], opts)


#: Where a flake exports its manifest, in the order tried: under `lib`, an output
#: `nix flake check` knows (so it does not warn), or top-level, as older flakes do.
MANIFEST_ATTRS = ("lib.vmtestManifest", "vmtestManifest")


def _manifest_json(flake: str, opts: NixOptions, timeout: float | None = None) -> tuple[str, str]:
    """(the attribute it was found at, its JSON); `timeout` bounds each evaluation."""
    for attr in MANIFEST_ATTRS:
        try:
            return attr, commands.eval_json(flake, attr, opts, timeout=timeout)
        except commands.NixCommandFailed as exc:
            if "does not provide attribute" not in exc.message:
                exc.hint = _flake_hint("\n".join(exc.stderr_tail)) or exc.hint
                raise
    raise BadInput(
        f"{flake} has no vmtestManifest output (the list of checks vmtest runs)",
        hint="export lib.vmtestManifest from flake.nix; `vmtest manifest schema` shows its shape",
    )


# A flake in a git repository is copied with only the files git tracks, so an untracked
# file is missing from the copy. Nix 2.8 (seen here): "getting status of
# '/nix/store/<hash>-source/flake.nix': No such file or directory"; Nix 2.26 (seen here):
# "path '/nix/store/<hash>-source/flake.nix' does not exist".
_UNTRACKED = (
    re.compile(r"getting status of '/nix/store/[0-9a-z]{32}-source/(?P<file>[^']+)': No such file"),
    re.compile(r"path '/nix/store/[0-9a-z]{32}-source/(?P<file>[^']+)' does not exist"),
)


def _flake_hint(nix_said: str) -> str | None:
    """What to do when Nix cannot find the flake, or a file of it, at all."""
    for pattern in _UNTRACKED:
        if m := pattern.search(nix_said):
            return (
                "in a git repository Nix sees only the files git tracks: if "
                f"{m['file']} exists, run `git add {m['file']}` (the path is from the "
                "repository's top directory)"
            )
    if "could not find a flake.nix file" in nix_said:
        return "run vmtest in the directory of your flake.nix, or name it: --flake PATH"
    return None


def select(
    manifest: Manifest,
    system: str,
    names: list[str],
    tier: str | None = None,
    unlisted: Sequence[str] = (),
) -> list[Check]:
    """The checks named (or matched by a glob such as `vm-*`) in the order given, then
    those of `tier`; an unknown name or a glob that matches nothing is bad input (exit 2),
    said apart for a name in `unlisted` (a flake check the manifest does not list)."""
    if tier is not None and tier not in ("quick", "full"):
        raise BadInput(f"--tier must be quick or full, got {tier!r}")
    if not names and tier is None:
        raise BadInput("name the checks to run", hint="e.g. `vmtest run --tier full` or "
                       "`vmtest run 'vm-*'`; `vmtest list` shows them")  # fmt: skip
    chosen: list[Check] = []
    for name in names:
        if name in unlisted:
            raise BadInput(
                f"check {name!r} is in the flake's checks.{system} but not in its manifest "
                "(lib.vmtestManifest), so vmtest does not know how to run it",
                hint=f"add it to the manifest (`vmtest manifest schema` shows the fields), or "
                f"build it with Nix: nix build .#checks.{system}.{name}",
            )
        chosen += _matching(manifest, system, name)
    if tier is not None:
        chosen += [c for c in manifest.for_system(system) if c.tier == tier]
        if not chosen:
            raise BadInput(f"the flake has no {tier}-tier check for {system}")
    chosen = list({c.name: c for c in chosen}.values())
    elsewhere = [c for c in chosen if system not in c.systems]
    if elsewhere:
        c = elsewhere[0]
        raise BadInput(
            f"check {c.name!r} is not defined for {system}",
            hint=f"it runs on {', '.join(c.systems)}; pick one with --system",
        )
    return chosen


def _matching(manifest: Manifest, system: str, name: str) -> list[Check]:
    """The check `name`, or the checks of `system` a glob matches; else BadInput with the
    closest names."""
    known = manifest.by_name()
    if name in known:
        return [known[name]]
    if is_glob(name):
        matched = [c for c in manifest.for_system(system) if fnmatch.fnmatchcase(c.name, name)]
        if matched:
            return matched
        what = f"no check matches {name!r}"
    else:
        what = f"unknown check: {name}"
    close = difflib.get_close_matches(name.replace("*", ""), list(known), n=1, cutoff=0.6)
    listing = ", ".join(sorted(known))
    if close:
        hint = f"did you mean {close[0]}? (known checks: {listing}; see `vmtest list`)"
    elif listing:
        hint = f"known checks: {listing} (see `vmtest list`)"
    else:
        hint = "the flake's vmtestManifest lists no checks"
    raise BadInput(what, hint=hint)


def is_glob(name: str) -> bool:
    """True for a pattern such as `vm-*` (a name never has these characters)."""
    return any(ch in name for ch in "*?[")


def budget(checks: list[Check], override: float | None) -> float:
    """Seconds for the whole run: --timeout, else the checks' timeoutSeconds added up."""
    return override if override is not None else float(sum(c.timeoutSeconds for c in checks))
