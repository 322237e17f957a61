"""Selecting, running and deciding the checks of a flake's `lib.vmtestManifest`."""
