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

# The flake that provides vmtest: VMTEST_FLAKE, else the one Nix finds for `.` (a
# flake.nix here or in a directory above, up to the top of a git repository).
if [ -z "${VMTEST_FLAKE:-}" ]; then
  dir="$PWD"
  while [ ! -e "$dir/flake.nix" ] && [ ! -e "$dir/.git" ] && [ "$dir" != / ]; do
    dir="$(dirname "$dir")"
  done
  if [ ! -e "$dir/flake.nix" ]; then
    printf '%s\n' >&2 \
      "error: no flake.nix in $PWD or above it, so there is no vmtest to build." \
      '  hint: run it from the nixos-vmtest repository (cd there, then make test-vm-quick),' \
      "  or name the flake: VMTEST_FLAKE=/path/to/nixos-vmtest $0 ARGS"
    exit 2
  fi
fi

# Build vmtest first (quietly): when that fails (nixpkgs cannot be fetched, say), one
# line says so, with Nix's own reason, instead of every retry nix prints. Exit 3 as
# vmtest does for an environment that is not ready (make itself then exits 2).
flake="${VMTEST_FLAKE:-.}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Nix's reason: the first error's innermost message and the lines continuing it, on one
# line; Nix 2.26 puts it after a bare "error:" line and a trace ("… while ..." frames with
# positions and code), Nix 2.8 on the "error:" line.
nix_reason() {
  awk '
    /^error:/ && said != "" { exit }
    /^[[:space:]]*error:/ { said = $0; sub(/^[[:space:]]*error:[[:space:]]*/, "", said); reading = 1; next }
    reading && /^[[:space:]]*(…|at [^ ].*:[0-9]+:[0-9]+:?$|[0-9]*[[:space:]]*\||\(stack trace truncated|\(use .--show-trace)/ { reading = 0; next }
    reading && /^[[:space:]]*$/ { if (said != "") reading = 0; next }
    reading { line = $0; sub(/^[[:space:]]+/, "", line); said = said (said == "" ? "" : " ") line }
    END { print said }
  ' "$1"
}
if ! json="$(nix build --no-link --json "$flake#vmtest" 2>"$log")"; then
  reason="$(nix_reason "$log")"
  [ -n "$reason" ] || reason="$(tail -n1 "$log")"
  printf '%s\n' >&2 \
    "error: cannot build vmtest with Nix (there is no .venv): $reason" \
    "  hint: run 'make venv' (python3 and pip) to use vmtest without building it with Nix," \
    "  or fix the reason (its whole log: nix build $flake#vmtest)"
  exit 3
fi
out="$(printf '%s' "$json" | sed -n 's/.*"out":"\([^"]*\)".*/\1/p')"
exec "$out/bin/vmtest" "$@"
