"""Record what tests/unit/extract.nix makes of real NixOS evaluations.

    python3 tests/unit/recorded/record.py NIXPKGS SOURCE [VARIANT...]

NIXPKGS is a complete nixpkgs tree (read in place, never changed), SOURCE
says where it comes from (its repository and commit; the tree itself need not
be a git checkout). Every configuration of variants.nix is evaluated with
the `nix` on PATH (record.nix: vm-shared.nix, the variant, extract.nix) and
the results are written to real-evaluations.json beside this file, with a
header naming the tree, the Nix version and this command. Named VARIANTs
are recorded again and the others kept from the existing file. Run it where that
tree and a Nix that can evaluate it are (it takes ~15 s and ~1 GB per
configuration). tests/driver/test_analysis_recorded.py runs the rules on the
recordings.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "real-evaluations.json"
COMMAND = "python3 tests/unit/recorded/record.py NIXPKGS SOURCE"


class EvaluationFailed(Exception):
    """nix-instantiate failed; the message is its command and stderr."""


def nix(*args: str) -> str:
    proc = subprocess.run(["nix-instantiate", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EvaluationFailed(f"nix-instantiate {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def record(nixpkgs: Path, variant: str, fails: bool) -> object:
    """extract.nix's data, or for a variant that NixOS itself cannot evaluate, its error."""
    print(f"recording {variant}", file=sys.stderr, flush=True)
    args = [str(HERE / "record.nix"), "--arg", "nixpkgs", str(nixpkgs), "--argstr", "variant"]
    if not fails:
        return json.loads(nix("--eval", "--strict", "--json", *args, variant))
    try:
        nix("--eval", "--strict", "--json", "--show-trace", *args, variant)
    except EvaluationFailed as e:
        return {"evaluationError": evaluation_error(str(e), nixpkgs)}
    raise EvaluationFailed(f"{variant} is listed as failing to evaluate, but it evaluates")


def evaluation_error(stderr: str, nixpkgs: Path) -> dict[str, object]:
    """Nix's error: its last line, the last option it names, the files of its trace."""
    repo = HERE.parents[2]
    errors = re.findall(r"^\s*error: (.+)$", stderr, re.MULTILINE)
    options = re.findall(r"while evaluating the option `([^']+)'", stderr)
    files = re.findall(r"^\s*at (/[^:]+):\d+:\d+:", stderr, re.MULTILINE)
    innermost = [f for f in files if f.startswith(f"{nixpkgs}/")]
    return {
        "message": errors[-1],
        "lastOption": options[-1] if options else None,
        "innermostNixpkgsFile": innermost[-1].removeprefix(f"{nixpkgs}/") if innermost else None,
        "projectFiles": sorted(
            {str(Path(f).relative_to(repo)) for f in files if f.startswith(f"{repo}/")}
        ),
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.exit(f"usage: {COMMAND}")
    nixpkgs, source = Path(argv[0]).resolve(), argv[1]
    version_file = nixpkgs / "lib" / ".version"
    if not version_file.is_file():
        sys.exit(f"error: {nixpkgs} is not a nixpkgs tree (no lib/.version)")
    variants = HERE / "variants.nix"
    names = json.loads(nix("--eval", "--json", "--expr", f"builtins.attrNames (import {variants})"))
    failing = json.loads(
        nix(
            "--eval",
            "--json",
            "--expr",
            f"let v = import {variants}; in"
            " builtins.filter (n: v.${n}.evaluationFails or false) (builtins.attrNames v)",
        )
    )
    version = subprocess.run(
        ["nix-instantiate", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    header = {
        "tree": f"nixpkgs {version_file.read_text().strip()} (lib/.version), {source}",
        "nix": version,
        "command": COMMAND,
        "standIns": "tests/unit/recorded/stand-ins.nix (added to every configuration: the tree has no Haskell package set)",
    }
    # Only the named variants again, the others kept, when the tree and Nix are the same.
    again = argv[2:]
    kept: dict[str, object] = {}
    if again:
        old = json.loads(OUT.read_text(encoding="utf-8"))
        if old["header"] != header:
            sys.exit(f"error: {OUT} was recorded from another tree or Nix: record all again")
        kept = {n: r for n, r in old["recordings"].items() if n not in again}
    recordings: dict[str, object] = {}
    failed: list[str] = []
    for n in names:
        try:
            recordings[n] = kept[n] if n in kept else record(nixpkgs, n, n in failing)
        except EvaluationFailed as e:
            print(f"error: {n}: {e}", file=sys.stderr)
            failed.append(n)
    if failed:
        sys.exit(f"error: not recorded, {len(failed)} evaluations failed: {', '.join(failed)}")
    lines = [f'"{n}": {json.dumps(r, sort_keys=True)}' for n, r in recordings.items()]
    text = (
        '{\n"header": '
        + json.dumps(header, indent=1, sort_keys=True)
        + ',\n"recordings": {\n'
        + ",\n".join(lines)
        + "\n}\n}\n"
    )
    json.loads(text)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(names)} configurations)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
