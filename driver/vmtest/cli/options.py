"""The options the `vmtest` commands share (typer declarations only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Flake = Annotated[str, typer.Option("--flake", "-f", metavar="REF", help="Flake reference.")]
SystemOpt = Annotated[
    str | None,
    typer.Option("--system", metavar="SYSTEM", help="Nix system (default: the current one)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
JunitPath = Annotated[
    Path | None,
    typer.Option("--junit", metavar="PATH", help="Write JUnit XML here ('-': stdout)."),
]
Builders = Annotated[
    str | None,
    typer.Option("--builders", metavar="SPEC", help="Remote builders, passed to nix."),
]
Store = Annotated[
    str | None,
    typer.Option("--store", metavar="URL", help="Store (e.g. ssh-ng://host), passed to nix."),
]
NixOption = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        metavar="NAME VALUE",
        help="A nix setting, passed to nix as --option (also NAME=VALUE; repeatable).",
    ),
]

# ----------------------------------------------------------------- run commands

#: A week: no run is meant to take longer (and a budget must stay a finite float).
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600

Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.001,
        max=MAX_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="Budget for the whole run, evaluation included (default: the checks' timeouts "
        "from the manifest, added).",
    ),
]
ReportPath = Annotated[
    Path | None,
    typer.Option("--report", metavar="PATH", help="Write the JSON report here ('-': stdout)."),
]
OverrideInput = Annotated[
    list[str] | None,
    typer.Option(
        "--override-input",
        metavar="INPUT REF",
        help="Use REF for the flake input INPUT, passed to nix (e.g. a local nixpkgs checkout; "
        "repeatable).",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Evaluate, then list what would be built and what is already built."
    ),
]
PrintBuildLogs = Annotated[
    bool,
    typer.Option(
        "--print-build-logs",
        "-L",
        help="Stream every build log line, prefixed by its check (folded per check in GitHub "
        "Actions).",
    ),
]
AllowTcg = Annotated[
    bool,
    typer.Option(
        "--allow-tcg",
        help="Run checks that need KVM without it (software emulation, several times slower).",
    ),
]
Tier = Annotated[
    str | None,
    typer.Option(
        "--tier",
        metavar="quick|full",
        help="Every check of a tier (with CHECK..., those as well).",
    ),
]
