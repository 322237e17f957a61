"""vm-generation-test probe: the qcow2 image of the real configuration, checked with qemu-img.

Runs inside a Nix build after nixpkgs' image builder (system.build.images.qemu) produced
the image. Each subtest is recorded, pass or fail, and the next one still runs; then the build
fails if any failed.
"""

import argparse
import json
import subprocess
from pathlib import Path

from vmtest_e2e import Recorder

GIB = 1024**3

parser = argparse.ArgumentParser()
parser.add_argument("--image", type=Path, required=True)
parser.add_argument("--qemu-img", required=True)
parser.add_argument("--closure-bytes", type=int, required=True, help="NAR size of the system")
parser.add_argument("--max-bytes", type=int, default=64 * GIB)
parser.add_argument("--results", type=Path, required=True)
args = parser.parse_args()

recorder = Recorder("vm-generation-test")
subtest = recorder.subtest
info: dict[str, object] = {}

with subtest("qcow2 image file exists"):
    assert args.image.is_file(), f"{args.image} is not a file"
    assert args.image.suffix == ".qcow2", f"{args.image.name} does not end in .qcow2"

with subtest("qemu-img reports format qcow2"):
    argv = [args.qemu_img, "info", "--output=json", str(args.image)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
    assert proc.returncode == 0, f"qemu-img failed (exit code {proc.returncode}):\n{tail}"
    info = json.loads(proc.stdout)
    print(f"  qemu-img info: {json.dumps(info, sort_keys=True)}")
    assert info.get("format") == "qcow2", f"format is {info.get('format')!r}"

with subtest("virtual size fits the system closure"):
    size = info.get("virtual-size")
    assert isinstance(size, int), f"no virtual-size in qemu-img info: {info}"
    low, high = args.closure_bytes, args.max_bytes
    assert low < size <= high, f"virtual size {size} bytes not in ({low}, {high}]"
    print(f"  virtual size {size / GIB:.2f} GiB, system closure {low / GIB:.2f} GiB")

raise SystemExit(recorder.finish(args.results))
