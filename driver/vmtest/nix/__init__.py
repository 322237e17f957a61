"""The only code that runs nix: argv, processes, its messages and its internal-json log."""
