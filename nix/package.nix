# The `vmtest` command as a Nix package (packages.<system>.vmtest, apps.<system>.vmtest),
# so `nix run .#vmtest -- quick` works with Nix alone. Dependencies come from nixpkgs'
# python3Packages (typer, pydantic, rich); the version is read from pyproject.toml so
# it is written in one place. (Read for this file: nixpkgs
# pkgs/development/python-modules/typer/default.nix as stored at 0368f12311a7, typer
# 0.27.2 with click vendored; the pinned nixos-26.05 may carry another typer 0.2x.)
{ python3Packages, lib }:
let
  pyproject = builtins.fromTOML (builtins.readFile ../pyproject.toml);
in
python3Packages.buildPythonApplication {
  pname = "vmtest";
  inherit (pyproject.project) version;
  pyproject = true;

  # Only what the wheel needs: editing tests or Nix files does not rebuild the tool.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../pyproject.toml
      ../README.md
      ../driver
    ];
  };

  build-system = [ python3Packages.setuptools ];

  dependencies = with python3Packages; [
    typer
    pydantic
    rich
  ];

  # vmtest runs the user's own `nix`, `nix-store` and `nix-instantiate` from PATH (the
  # ones that talk to their daemon and know their settings), so nix is not wrapped in.
  # Its tests need a working Nix store and build real fixture flakes, which the build
  # sandbox cannot offer; they run in `make test` and in CI instead.
  doCheck = false;
  pythonImportsCheck = [
    "vmtest.cli.app"
    "vmtest.checks.runner"
  ];

  meta = {
    description = pyproject.project.description;
    license = lib.licenses.mit;
    mainProgram = "vmtest";
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
  };
}
