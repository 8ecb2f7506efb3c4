#!/usr/bin/env bash
# The whole test suite: formatting, lints with warnings as errors, and every test.
# Installs what it needs on a fresh machine (xmllint for the EWS schema checks).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# One target dir outside the clone, reused across runs and clones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mailbridge/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches only pay off for edit-compile loops, and they double the disk a
# test build takes; a suite run is a batch build.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# A target dir kept across runs gathers the artifacts of every earlier revision. When it
# has grown large or the disk is nearly full, start it afresh rather than let the linker
# run out of space half-way through the suite (it fails with a bus error, not a message).
prune_target_dir() {
  [ -d "$CARGO_TARGET_DIR" ] || return 0
  local used_kib free_kib
  used_kib=$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1)
  free_kib=$(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 { print $4 }')
  if [ "${used_kib:-0}" -gt $((12 * 1024 * 1024)) ] || [ "${free_kib:-0}" -lt $((6 * 1024 * 1024)) ]; then
    echo "== clearing $CARGO_TARGET_DIR ($((used_kib / 1024)) MiB used, $((free_kib / 1024)) MiB free on its disk)"
    rm -rf "$CARGO_TARGET_DIR"
  fi
}
prune_target_dir

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

# DynamoDB, Secrets Manager (and later SQS) tests run against moto, an AWS emulator from
# PyPI, installed once into a virtualenv outside the clone and started on a free loopback
# port for this run. Tests read MAILBRIDGE_MOTO_URL.
export MAILBRIDGE_VENV="${MAILBRIDGE_VENV:-$HOME/.cache/mailbridge/venv}"
venv="$MAILBRIDGE_VENV"
moto_pid=""
log=""
cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  if [ -n "$log" ]; then rm -f "$log"; fi
}
trap cleanup EXIT

if ! { [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c 'import moto.server' >/dev/null 2>&1; }; then
  echo "== installing moto into $venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      sudo_cmd=""
      [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
      $sudo_cmd apt-get update -qq
      $sudo_cmd apt-get install -y -qq python3-venv >/dev/null
    fi
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.1,<6'
fi

# The SAM template (template.yaml) is checked by the SAM CLI's linter and by cfn-lint,
# both from PyPI in the same virtualenv. Neither needs AWS credentials or the network;
# together they take a few seconds. Any finding, warnings included, fails the run.
if ! { [ -x "$venv/bin/sam" ] && [ -x "$venv/bin/cfn-lint" ]; }; then
  echo "== installing aws-sam-cli and cfn-lint into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'aws-sam-cli>=1.160,<2' 'cfn-lint>=1.40,<2'
fi
export SAM_CLI_TELEMETRY=0
echo "== sam validate --lint"
"$venv/bin/sam" validate --lint --region us-east-1 --template template.yaml
echo "== cfn-lint"
"$venv/bin/cfn-lint" template.yaml

moto_port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "== starting moto on 127.0.0.1:$moto_port"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
moto_pid=$!
export MAILBRIDGE_MOTO_URL="http://127.0.0.1:$moto_port"
moto_ready=""
for _ in $(seq 1 100); do
  if "$venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2)' \
    "$MAILBRIDGE_MOTO_URL" >/dev/null 2>&1; then
    moto_ready=1
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then break; fi
  sleep 0.2
done
if [ -z "$moto_ready" ]; then
  echo "error: moto did not start on 127.0.0.1:$moto_port" >&2
  exit 1
fi

echo "== cargo test"
df -Ph "$(dirname "$CARGO_TARGET_DIR")" | awk 'NR == 2 { print "   disk: " $4 " free of " $2 }'
# Doc examples are compiled by rustdoc only where marked; the suite is the unit and
# integration tests. The closing line sums every test binary's result.
log=$(mktemp)
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
