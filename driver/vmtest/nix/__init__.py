"""The only code that runs nix: argv, processes, message classification, the internal-json log."""
