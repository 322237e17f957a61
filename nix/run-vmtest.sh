#!/usr/bin/env bash
# Run vmtest with Nix alone (no venv): `nix run .#vmtest -- ARGS`.
# Says how to get Nix, or how to turn flakes on, instead of failing obscurely.
set -euo pipefail

if ! command -v nix >/dev/null 2>&1; then
  cat >&2 <<'MSG'
error: nix is not installed (or not on PATH).
  Install Nix with flakes enabled, e.g. the official installer from nixos.org
  (then add "experimental-features = nix-command flakes" to ~/.config/nix/nix.conf),
  or on Debian/Ubuntu: sudo apt-get install nix-bin. See README.md, "Getting Nix".
MSG
  exit 3
fi

if [ "$(nix-instantiate --eval --expr 'builtins ? getFlake' 2>/dev/null)" != "true" ]; then
  cat >&2 <<'MSG'
error: Nix flakes are disabled.
  Enable them: add "experimental-features = nix-command flakes" to ~/.config/nix/nix.conf
  (or /etc/nix/nix.conf), or export NIX_CONFIG="experimental-features = nix-command flakes".
MSG
  exit 3
fi

exec nix run "${VMTEST_FLAKE:-.}#vmtest" -- "$@"
