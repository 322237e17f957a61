"""The `vmtest` command line (typer only: parse, call, map errors to exit codes).

Exit codes (vmtest.errors.ExitCode): 0 passed, 1 a check failed, 2 bad usage or
input, 3 environment not ready, 4 timed out, 130 interrupted. Expected errors
become one `error: ...` line (plus a hint); `--debug` adds tracebacks and the
argv of every command run. Heavy modules are imported inside the commands so
`vmtest --help` starts fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vmtest import __version__
from vmtest.errors import BadInput, ExitCode, VmtestError

if TYPE_CHECKING:
    from vmtest.manifest import Manifest
    from vmtest.nix import NixOptions
    from vmtest.results import RunReport

app = typer.Typer(
    name="vmtest",
    help="Select, run and report the NixOS VM test checks of a flake.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
manifest_app = typer.Typer(help="Show, validate or describe the flake's vmtestManifest.")
app.add_typer(manifest_app, name="manifest")

_state = {"debug": False}

# ----------------------------------------------------------------- options

Flake = Annotated[str, typer.Option("--flake", "-f", help="Flake reference.")]
SystemOpt = Annotated[
    str | None, typer.Option("--system", help="Nix system (default: the current one).")
]
JsonOut = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
Timeout = Annotated[
    float | None,
    typer.Option("--timeout", min=0.001, help="Budget in seconds (default: from the manifest)."),
]
JunitPath = Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")]
ReportPath = Annotated[Path | None, typer.Option("--report", help="Write the JSON report here.")]
Builders = Annotated[str | None, typer.Option("--builders", help="Passed to nix.")]
Store = Annotated[str | None, typer.Option("--store", help="Passed to nix.")]
NixOption = Annotated[
    list[str] | None,
    typer.Option("--option", help="NAME=VALUE, passed to nix as --option NAME VALUE (repeat)."),
]
AllowTcg = Annotated[
    bool, typer.Option("--allow-tcg", help="Run KVM checks without KVM (software emulation).")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vmtest {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Tracebacks and every command's argv.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    _state["debug"] = debug
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="debug: %(message)s", stream=sys.stderr)


@contextmanager
def _errors() -> Iterator[None]:
    """Map expected errors to one line and their exit code."""
    try:
        yield
    except VmtestError as exc:
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"  hint: {exc.hint}", err=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:  # outside a run (a run reports it and exits 130 itself)
        typer.echo("interrupted", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _nix_options(builders: str | None, store: str | None, option: list[str] | None) -> NixOptions:
    from vmtest.nix import NixOptions

    pairs: list[tuple[str, str]] = []
    for item in option or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadInput(f"--option expects NAME=VALUE, got {item!r}")
        pairs.append((name, value))
    return NixOptions(builders=builders, store=store, options=tuple(pairs))


def _system(system: str | None, opts: NixOptions) -> str:
    from vmtest import nix

    return system or nix.current_system(opts)


def _load(flake: str, system: str, opts: NixOptions) -> Manifest:
    from vmtest.runner import load_manifest

    return load_manifest(flake, system, opts, None)


# ----------------------------------------------------------------- run commands


def _run(
    names: Callable[[Manifest], list[str]],
    flake: str,
    system: str | None,
    timeout: float | None,
    json_out: bool,
    junit: Path | None,
    report_path: Path | None,
    nix_opts: NixOptions,
    allow_tcg: bool,
) -> None:
    import time

    from vmtest import doctor, nix, output, runner
    from vmtest.progress import make_display

    started = time.monotonic()
    output.ensure_writable([p for p in (junit, report_path) if p is not None])
    version = nix.version()
    system_ = _system(system, nix_opts)
    manifest = _load(flake, system_, nix_opts)
    checks = runner.select(manifest, system_, names(manifest))
    doctor.require_kvm(checks, allow_tcg)
    deadline = started + runner.budget(checks, timeout)
    cfg = runner.RunConfig(flake, system_, version, nix_opts)
    report: RunReport = runner.Runner(cfg, make_display(), deadline).run(checks)
    output.publish(report, json_out=json_out, junit=junit, report_path=report_path)
    raise typer.Exit(output.exit_code(report))


@app.command()
def quick(
    flake: Flake = ".",
    system: SystemOpt = None,
    timeout: Timeout = None,
    json_out: JsonOut = False,
    junit: JunitPath = None,
    report: ReportPath = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """Quick tier: evaluate the VM configuration and list the findings (no VM)."""
    from vmtest.manifest import QUICK_CHECK

    with _errors():
        opts = _nix_options(builders, store, option)
        _run(lambda _: [QUICK_CHECK], flake, system, timeout, json_out, junit, report, opts, False)


@app.command()
def full(
    flake: Flake = ".",
    system: SystemOpt = None,
    timeout: Timeout = None,
    json_out: JsonOut = False,
    junit: JunitPath = None,
    report: ReportPath = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
    allow_tcg: AllowTcg = False,
) -> None:
    """Full tier: build, boot under KVM and test the VM (vm-test-suite)."""
    from vmtest.manifest import FULL_CHECK

    with _errors():
        opts = _nix_options(builders, store, option)
        _run(
            lambda _: [FULL_CHECK], flake, system, timeout, json_out, junit, report, opts, allow_tcg
        )


@app.command("run")
def run_checks(
    checks: Annotated[list[str], typer.Argument(help="Check names (see `vmtest list`).")],
    flake: Flake = ".",
    system: SystemOpt = None,
    timeout: Timeout = None,
    json_out: JsonOut = False,
    junit: JunitPath = None,
    report: ReportPath = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
    allow_tcg: AllowTcg = False,
) -> None:
    """Run any checks by name."""
    with _errors():
        opts = _nix_options(builders, store, option)
        _run(lambda _: checks, flake, system, timeout, json_out, junit, report, opts, allow_tcg)


# ----------------------------------------------------------------- information


@app.command("list")
def list_checks(
    flake: Flake = ".",
    system: SystemOpt = None,
    json_out: JsonOut = False,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """List the checks of the flake's manifest."""
    from vmtest import output

    with _errors():
        opts = _nix_options(builders, store, option)
        system_ = _system(system, opts)
        output.print_checks(_load(flake, system_, opts), system_, json_out)


@app.command()
def doctor(json_out: JsonOut = False) -> None:
    """Is this machine ready for the quick and the full tier?"""
    from vmtest import doctor as doc
    from vmtest import output

    with _errors():
        items = doc.diagnose()
        output.print_doctor(items, json_out)
        if doc.full_tier_blockers(items):
            raise typer.Exit(int(ExitCode.ENVIRONMENT))


@manifest_app.command("show")
def manifest_show(
    flake: Flake = ".",
    system: SystemOpt = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """Print the validated manifest as JSON."""
    with _errors():
        opts = _nix_options(builders, store, option)
        manifest = _load(flake, _system(system, opts), opts)
        typer.echo(manifest.model_dump_json(indent=2))


@manifest_app.command("validate")
def manifest_validate(
    flake: Flake = ".",
    system: SystemOpt = None,
    builders: Builders = None,
    store: Store = None,
    option: NixOption = None,
) -> None:
    """Validate the manifest against its schema and the flake's checks."""
    with _errors():
        opts = _nix_options(builders, store, option)
        system_ = _system(system, opts)
        manifest = _load(flake, system_, opts)
        n = len(manifest.for_system(system_))
        typer.echo(f"manifest OK: {len(manifest.checks)} checks, {n} defined for {system_}")


@manifest_app.command("schema")
def manifest_schema() -> None:
    """Print the manifest's JSON Schema (generated from the model)."""
    import json

    from vmtest.manifest import schema

    typer.echo(json.dumps(schema(), indent=2, sort_keys=True))


# ----------------------------------------------------------------- tools


@app.command("lint-scripts")
def lint_scripts(
    project: Annotated[
        Path, typer.Option("--project", help="Project root (has tests/e2e/scripts).")
    ] = Path(),
) -> None:
    """Type-check and lint the VM test scripts against the driver model."""
    import importlib

    with _errors():
        try:  # helper B's module; imported lazily so the rest works without it
            module = importlib.import_module("vmtest.scriptlint")
        except ImportError as exc:
            raise VmtestError("vmtest.scriptlint is not installed in this build") from exc
        lint: Callable[[Path], list[Any]] = module.lint_scripts
        problems = lint(project)
        for p in problems:
            where = f"{p.script}:{p.line}" if p.line is not None else f"{p.script}"
            typer.echo(f"{where}: [{p.tool}] {p.message}")
        if problems:
            typer.echo(f"{len(problems)} problem(s)", err=True)
            raise typer.Exit(int(ExitCode.CHECK_FAILED))
        typer.echo("lint-scripts: no problems")


@app.command("report")
def report_cmd(
    source: Annotated[Path, typer.Argument(help="A JSON run report (from --report).")],
    junit: JunitPath = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write Markdown here ('-': stdout).")
    ] = None,
) -> None:
    """Turn a JSON run report into JUnit XML and/or Markdown (else print a summary)."""
    from vmtest import output

    with _errors():
        output.convert_report(source, junit, markdown)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Console-script entry point."""
    import signal

    # Ctrl-C and SIGTERM (CI cancellation) both stop the run cleanly: the nix process
    # group is stopped and the partial report written. SIGINT is reset explicitly
    # because shells start background jobs with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    if os.environ.get("VMTEST_DEBUG") == "1":
        _state["debug"] = True
    app()
