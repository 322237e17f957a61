#!/usr/bin/env bash
# Run vmtest with Nix alone (no venv): `nix run .#vmtest -- ARGS`.
# Says how to get Nix, or how to turn flakes on, instead of failing obscurely.
set -euo pipefail

if ! command -v nix >/dev/null 2>&1; then
  printf '%s\n' >&2 \
    'error: nix is not installed (or not on PATH).' \
    '  Install Nix with flakes enabled, e.g. the official installer from nixos.org' \
    '  (then add "experimental-features = nix-command flakes" to ~/.config/nix/nix.conf),' \
    '  or on Debian/Ubuntu: sudo apt-get install nix-bin. See README.md, "Getting Nix".'
  exit 3
fi

# `nix eval` needs nix-command; builtins.getFlake exists only with flakes on.
if [ "$(nix eval --expr 'builtins ? getFlake' 2>/dev/null)" != "true" ]; then
  printf '%s\n' >&2 \
    'error: Nix flakes are disabled.' \
    '  Enable them: add "experimental-features = nix-command flakes" to ~/.config/nix/nix.conf' \
    '  (or /etc/nix/nix.conf), or export NIX_CONFIG="experimental-features = nix-command flakes".'
  exit 3
fi

exec nix run "${VMTEST_FLAKE:-.}#vmtest" -- "$@"
