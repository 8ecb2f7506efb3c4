#!/usr/bin/env bash
# The whole test suite: formatting, lints with warnings as errors, and every test.
# Installs what it needs on a fresh machine (xmllint for the EWS schema checks).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# One target dir outside the clone, reused across runs and clones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mailbridge/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

schema_dir="$repo/../shared/ews-schema"
if [ ! -f "$schema_dir/messages.xsd" ]; then
  echo "error: the EWS schemas are missing at $schema_dir (the team's shared/ folder must sit beside the repo)" >&2
  exit 1
fi

if ! command -v xmllint >/dev/null 2>&1; then
  echo "== installing xmllint (libxml2-utils) for the EWS schema checks"
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq libxml2-utils >/dev/null
  else
    echo "error: xmllint is missing; install libxml2 (Debian: libxml2-utils)" >&2
    exit 1
  fi
fi

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# Doc examples are compiled by rustdoc only where marked; the suite is the unit and
# integration tests. The closing line sums every test binary's result.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
