# devShells.<system>.default: the tools `make test` uses, from nixpkgs, plus the
# packaged `vmtest`. Inside the shell `make venv` still works for the exact pinned
# PyPI versions; the shell is for people who prefer Nix-provided tools.
{
  mkShell,
  vmtest,
  python3,
  ruff,
  actionlint,
  nixfmt,
  gnumake,
  ...
}:
mkShell {
  packages = [
    (python3.withPackages (
      ps: with ps; [
        typer
        pydantic
        rich
        pytest
        mypy
        pyflakes
        pyyaml
        types-pyyaml
      ]
    ))
    ruff
    actionlint
    nixfmt
    gnumake
    vmtest
  ];

  shellHook = ''
    # Run the CLI from the working tree, not the packaged copy, while developing.
    export PYTHONPATH="$PWD/driver''${PYTHONPATH:+:$PYTHONPATH}"
  '';
}
