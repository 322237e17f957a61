"""`python -m vmtest` is the `vmtest` command."""

from vmtest.cli import main

main()
