"""vm-build-test probe: the real configuration's system built; its closure holds sshd and docker.

Runs inside a Nix build after the system toplevel and its closure info were built (a build
failure of the system itself fails the check before this runs). Each subtest is recorded,
pass or fail, and the next one still runs; then the build fails if any failed.
"""

import argparse
from pathlib import Path

from vmtest_e2e import Recorder

parser = argparse.ArgumentParser()
parser.add_argument("--toplevel", type=Path, required=True)
parser.add_argument("--store-paths", type=Path, required=True, help="closureInfo's store-paths")
parser.add_argument("--sshd-package", type=Path, required=True)
parser.add_argument("--docker-package", type=Path, required=True)
parser.add_argument("--results", type=Path, required=True)
args = parser.parse_args()

recorder = Recorder("vm-build-test")
subtest = recorder.subtest
closure = set(args.store_paths.read_text().split())


def require_in_closure(package: Path, program: str, unit: str) -> None:
    """The package is in the system's closure, ships `program`, and the system has `unit`."""
    assert str(package) in closure, f"{package} is not in the closure of {args.toplevel}"
    assert (package / "bin" / program).is_file(), f"{package}/bin/{program} is missing"
    unit_file = args.toplevel / "etc/systemd/system" / unit
    assert unit_file.exists(), f"{unit_file} is missing"


with subtest("system toplevel is built"):
    assert (args.toplevel / "init").exists(), f"{args.toplevel}/init is missing"
    assert str(args.toplevel) in closure, "the closure does not contain the toplevel itself"
    print(f"  {args.toplevel}: {len(closure)} store paths in its closure")

with subtest("closure holds sshd and its service"):
    require_in_closure(args.sshd_package, "sshd", "sshd.service")

with subtest("closure holds docker and its service"):
    require_in_closure(args.docker_package, "dockerd", "docker.service")

raise SystemExit(recorder.finish(args.results))
