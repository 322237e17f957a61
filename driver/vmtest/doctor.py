"""`vmtest doctor`: is this machine ready for the quick and the full tier?

Every item is always reported (a missing nix does not hide the KVM check).
`needed_for` says which tier an item blocks; the CLI exits 3 when anything the
full tier needs is missing. KVM is probed for real: open the device read-write
and ask its API version (KVM_GET_API_VERSION must answer 12), then create and
close a VM (KVM_CREATE_VM), because a device node alone proves nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vmtest.errors import EnvironmentNotReady, VmtestError
from vmtest.nix import commands
from vmtest.nix.argv import NixVersion

if TYPE_CHECKING:
    from vmtest.checks.manifest import Check

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_API_VERSION = 12
#: Tests and unusual setups can point the probe at another device node.
KVM_DEVICE_ENV = "VMTEST_KVM_DEVICE"
FULL_TIER_FEATURES = ("kvm", "nixos-test")

Tier = Literal["quick", "full"]

KVM_FIX = (
    "enable virtualisation in the firmware and load kvm-intel/kvm-amd; give your user "
    'access to /dev/kvm (e.g. the "kvm" group, or on GitHub runners a udev rule '
    'KERNEL=="kvm", MODE="0666"); or build on a KVM machine with --builders/--store'
)


def tcg_fix(command: Sequence[str] = ("full",)) -> str:
    """The last resort, as the command to type: `command` (the words after `vmtest`) with
    `--allow-tcg` added."""
    import shlex

    words = [*command, "--allow-tcg"] if "--allow-tcg" not in command else list(command)
    return f"or run `{shlex.join(['vmtest', *words])}` (slow)"


FEATURES_FIX = (
    'add "extra-system-features = kvm nixos-test" to nix.conf (the nix-daemon reads '
    "/etc/nix/nix.conf; restart it)"
)


@dataclass(frozen=True)
class Item:
    """One line of the doctor table."""

    name: str
    ok: bool
    value: str
    needed_for: Tier | None
    fix: str | None = None
    #: False when it could not be looked at (no nix to ask): neither ok nor missing.
    checked: bool = True


@dataclass(frozen=True)
class KvmProbe:
    usable: bool
    detail: str


def probe_kvm(env: Mapping[str, str] | None = None) -> KvmProbe:
    """Open the KVM device and talk to it; never raises."""
    device = (env if env is not None else os.environ).get(KVM_DEVICE_ENV, "/dev/kvm")
    if not Path(device).exists():
        return KvmProbe(False, f"{device} does not exist")
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return KvmProbe(False, f"{device} cannot be opened read-write: {exc.strerror}")
    try:
        api = fcntl.ioctl(fd, KVM_GET_API_VERSION)
        if api != KVM_API_VERSION:
            return KvmProbe(False, f"{device}: KVM API version {api}, expected {KVM_API_VERSION}")
        vm_fd = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        os.close(vm_fd)
    except OSError as exc:
        return KvmProbe(False, f"{device}: KVM ioctl failed: {exc.strerror}")
    finally:
        os.close(fd)
    return KvmProbe(True, f"{device} usable (KVM API {KVM_API_VERSION})")


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def diagnose() -> list[Item]:
    """Gather every item; only nix being absent shortens the nix part."""
    items = _nix_items()
    kvm = probe_kvm()
    fix = None if kvm.usable else f"{KVM_FIX}; {tcg_fix()}"
    items.append(Item("/dev/kvm", kvm.usable, kvm.detail, "full", fix))
    items.append(Item("cores", True, str(os.cpu_count() or "unknown"), None))
    mem = memory_bytes()
    items.append(Item("memory", True, f"{mem / 2**30:.1f} GiB" if mem else "unknown", None))
    return items


def _nix_items() -> list[Item]:
    try:
        version = commands.version()
    except VmtestError as exc:
        unknown = "not checked: there is no nix to ask"
        return [
            Item("nix", False, exc.message, "quick", exc.hint),
            Item("flakes", False, unknown, "quick", checked=False),
            Item("system", False, unknown, "quick", checked=False),
            Item("system-features", False, unknown, "full", checked=False),
        ]
    items = [Item("nix", True, f"{version} ({version.text})", "quick")]
    flakes = commands.flakes_enabled()
    items.append(
        Item("flakes", flakes, "enabled" if flakes else "disabled", "quick",
             None if flakes else commands.FLAKES_HINT)
    )  # fmt: skip
    config = _config(version)
    system = str(config.get("system") or "unknown")
    items.append(Item("system", bool(config.get("system")), system, "quick"))
    raw_features = config.get("system-features")
    features = [str(f) for f in raw_features] if isinstance(raw_features, list) else []
    missing = [f for f in FULL_TIER_FEATURES if f not in features]
    items.append(
        Item("system-features", not missing, " ".join(features) or "(none)", "full",
             None if not missing else f"missing {', '.join(missing)}: {FEATURES_FIX}")
    )  # fmt: skip
    return items


def _config(version: NixVersion, options: Sequence[tuple[str, str]] = ()) -> dict[str, object]:
    """Nix settings (with the run's `--option`s); read even when nix-command is off, so the
    other items still show."""
    try:
        return commands.show_config(version, options=options)
    except VmtestError:
        pass
    try:
        return commands.show_config(version, extra_features="nix-command", options=options)
    except VmtestError:
        return {}


def full_tier_blockers(items: list[Item]) -> list[Item]:
    """Items found missing that stop the full tier (what the quick tier needs blocks it too)."""
    return [i for i in items if not i.ok and i.checked and i.needed_for is not None]


def quick_tier_blockers(items: list[Item]) -> list[Item]:
    """Items found missing that stop the quick tier too (no nix, flakes off)."""
    return [i for i in items if not i.ok and i.checked and i.needed_for == "quick"]


def not_checked(items: list[Item]) -> list[Item]:
    """Items that could not be looked at (nothing to ask without nix)."""
    return [i for i in items if not i.checked]


def verdict(items: list[Item]) -> str:
    """The doctor's last line: which tier this machine is ready for, and what it lacks."""
    quick_blockers = quick_tier_blockers(items)
    quick = ", ".join(i.name for i in quick_blockers)
    full = ", ".join(i.name for i in full_tier_blockers(items))
    also = ", ".join(i.name for i in full_tier_blockers(items) if i not in quick_blockers)
    if quick:  # what blocks the quick tier blocks the full tier too
        verdict = f"not ready for the quick tier (nor the full tier): missing {quick}"
        verdict += f"; the full tier also needs {also}" if also else ""
    elif full:
        verdict = f"ready for the quick tier; not ready for the full tier: missing {full}"
    else:
        verdict = "ready for the quick and the full tier"
    unknown = ", ".join(i.name for i in not_checked(items))
    return verdict + (f"; not checked without nix: {unknown}" if unknown else "")


def to_json(items: list[Item]) -> str:
    """camelCase throughout, like the run report and the manifest."""
    data = {
        "items": [
            {
                "name": i.name,
                "ok": i.ok,
                "checked": i.checked,
                "value": i.value,
                "neededFor": i.needed_for,
                "fix": i.fix,
            }
            for i in items
        ],
        "quickReady": not quick_tier_blockers(items)
        and all(i.needed_for != "quick" for i in not_checked(items)),
        "fullReady": not full_tier_blockers(items) and not not_checked(items),
        "notChecked": [i.name for i in not_checked(items)],
        "missingForQuick": [i.name for i in quick_tier_blockers(items)],
        "missingForFull": [i.name for i in full_tier_blockers(items)],
    }
    return json.dumps(data, indent=2, sort_keys=True)


@dataclass(frozen=True)
class KvmSplit:
    """The selected checks this machine can build as asked, and those it cannot (they
    need KVM, or the system features, it lacks) with the reason."""

    runnable: list[Check]
    refused: list[Check]
    reason: EnvironmentNotReady | None


def split_kvm(
    checks: Sequence[Check],
    allow_tcg: bool,
    remote: bool = False,
    version: NixVersion | None = None,
    command: Sequence[str] = ("full",),
    options: Sequence[tuple[str, str]] = (),
) -> KvmSplit:
    """Which of `checks` `require_kvm` lets run: all of them, or those needing no KVM."""
    try:
        require_kvm(
            checks, allow_tcg, remote=remote, version=version, command=command, options=options
        )
    except EnvironmentNotReady as exc:
        refused = [c for c in checks if c.requiresKvm]
        return KvmSplit([c for c in checks if not c.requiresKvm], refused, exc)
    return KvmSplit(list(checks), [], None)


def require_kvm(
    checks: Sequence[Check],
    allow_tcg: bool,
    remote: bool = False,
    version: NixVersion | None = None,
    command: Sequence[str] = ("full",),
    options: Sequence[tuple[str, str]] = (),
) -> None:
    """`full` (and `run` of KVM checks) refuse what Nix would refuse, or do slowly.

    Nix builds a VM test only where the `kvm` and `nixos-test` system features are set
    (nixpkgs nixos/lib/testing/run.nix, read at 0020e46c8b1c as stored, the pin
    02e08985a27c not being: `requiredSystemFeatures = [ "nixos-test" ]` plus "kvm" on
    Linux); without a usable /dev/kvm the VM falls back to slow emulation. Builds sent
    to remote builders are checked there. `command` (the words after `vmtest`) is what
    the hint tells to run again with `--allow-tcg`."""
    needing = [c.name for c in checks if c.requiresKvm]
    if not needing or remote:
        return
    if version is not None:
        _require_features(needing, version, options)
    probe = probe_kvm()
    if probe.usable:
        return
    if allow_tcg:
        print(
            f"warning: {probe.detail}; running {', '.join(needing)} without KVM (--allow-tcg): "
            "expect it to be several times slower, and nix must still accept the 'kvm' "
            "system feature",
            file=sys.stderr,
        )
        return
    raise EnvironmentNotReady(
        f"no usable KVM for {', '.join(needing)}: {probe.detail}",
        hint=f"{KVM_FIX}; {tcg_fix(command)}; see `vmtest doctor`",
    )


def _require_features(
    needing: list[str], version: NixVersion, options: Sequence[tuple[str, str]]
) -> None:
    """Exit 3 naming the system features Nix lacks for `needing` (as the run's `--option`s
    leave them), and the nix.conf line."""
    features = _config(version, options).get("system-features")
    if not isinstance(features, list):
        return  # nix did not say: let Nix itself decide at build time
    missing = [f for f in FULL_TIER_FEATURES if f not in {str(x) for x in features}]
    if missing:
        raise EnvironmentNotReady(
            f"nix lacks the system feature{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} that {', '.join(needing)} need{'s' if len(needing) == 1 else ''}"
            f" (nix has: {' '.join(map(str, features)) or 'none'})",
            hint=FEATURES_FIX,
        )
