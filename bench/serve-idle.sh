#!/usr/bin/env bash
# The resident memory of `uma-wallet serve --locked` (the server a tray
# would hold): waiting for the passphrase, then unlocked, each after
# IDLE_SECONDS of nothing happening. Release build; loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${IDLE_SECONDS:-20}
cargo build --release --locked -p uma-wallet-cli
bin=$PWD/target/release/uma-wallet
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export XDG_STATE_HOME=$work/state UMA_WALLET_PASSPHRASE="a long enough passphrase for this"
wallet() { "$bin" --data-dir "$work/wallet" --backup-dir "$work/backups" "$@"; }
wallet init >/dev/null
# Started directly, not through the function: `$!` is then the server itself.
"$bin" --data-dir "$work/wallet" --backup-dir "$work/backups" serve --locked --listen 127.0.0.1:0 >"$work/ready" 2>/dev/null &
server=$!
sleep "$idle"
echo "waiting for the passphrase: $(grep VmRSS /proc/$server/status)"
wallet unlock >/dev/null
sleep "$idle"
echo "unlocked: $(grep VmRSS /proc/$server/status)"
