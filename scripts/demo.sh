#!/usr/bin/env bash
# The local demo: builds the mailbridge command and runs it against the Exchange simulator
# on loopback. Needs only a Rust toolchain; nothing leaves this machine.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mailbridge/target}"
exec cargo run --quiet --locked -p mailbridge -- demo "$@"
