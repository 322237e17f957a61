"""Which checks a command runs: the flake's manifest, validated, and the selection.

The manifest comes only from `nix eval --json <flake>#lib.vmtestManifest` (or a
top-level `vmtestManifest`, see MANIFEST_ATTRS); it is
checked against the names under `checks.<system>` (a cheap `builtins.attrNames`
that forces no derivation). Unknown names and checks of another system are bad
input (exit 2).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from vmtest import nix, process
from vmtest.errors import BadInput
from vmtest.manifest import Check, Manifest, check_defined, parse_manifest
from vmtest.nixargv import NixOptions


def load_manifest(flake: str, system: str, opts: NixOptions) -> Manifest:
    """`nix eval --json <flake>#vmtestManifest`, validated, and checked against the flake."""
    # The two evaluations are independent: run them side by side (each is a nix start-up).
    with ThreadPoolExecutor(max_workers=2) as pool:
        names = pool.submit(nix.check_names, flake, system, opts)
        try:
            attr, text = _manifest_json(flake, opts)
            manifest = parse_manifest(text, source=f"{flake}#{attr}")
            if not manifest.for_system(system):
                return manifest
            defined = names.result()
        except BaseException:
            names.cancel()
            process.stop_all()
            raise
    check_defined(manifest, system, defined)
    return manifest


#: Where a flake exports its manifest, in the order tried: under `lib`, an output
#: `nix flake check` knows (so it does not warn), or top-level, as older flakes do.
MANIFEST_ATTRS = ("lib.vmtestManifest", "vmtestManifest")


def _manifest_json(flake: str, opts: NixOptions) -> tuple[str, str]:
    """(the attribute it was found at, its JSON)."""
    for attr in MANIFEST_ATTRS:
        try:
            return attr, nix.eval_json(flake, attr, opts)
        except nix.NixCommandFailed as exc:
            if "does not provide attribute" not in exc.message:
                raise
    raise BadInput(
        f"{flake} has no vmtestManifest output (the list of checks vmtest runs)",
        hint="export one from flake.nix; `vmtest manifest schema` shows its shape",
    )


def select(manifest: Manifest, system: str, names: list[str]) -> list[Check]:
    """The named checks, in the order given; unknown names are bad input (exit 2)."""
    known = manifest.by_name()
    unknown = [n for n in names if n not in known]
    if unknown:
        listing = ", ".join(sorted(known))
        raise BadInput(
            f"unknown check{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"known checks: {listing} (see `vmtest list`)"
            if listing
            else "the flake's vmtestManifest lists no checks",
        )
    chosen = [known[n] for n in dict.fromkeys(names)]
    elsewhere = [c for c in chosen if system not in c.systems]
    if elsewhere:
        c = elsewhere[0]
        raise BadInput(
            f"check {c.name!r} is not defined for {system}",
            hint=f"it runs on {', '.join(c.systems)}; pick one with --system",
        )
    return chosen


def budget(checks: list[Check], override: float | None) -> float:
    """Seconds for the whole run: --timeout, else the checks' timeoutSeconds added up."""
    return override if override is not None else float(sum(c.timeoutSeconds for c in checks))
