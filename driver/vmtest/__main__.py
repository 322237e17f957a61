"""`python -m vmtest` is the `vmtest` command."""

from vmtest.cli.app import main

main()
