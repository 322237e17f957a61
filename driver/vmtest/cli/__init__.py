"""The `vmtest` command line: typer commands only, one module per command group."""
