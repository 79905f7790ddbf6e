#!/usr/bin/env bash
# Two reference pension providers for trying the wallet: Acme Pensions on
# 127.0.0.1:8101 and Northwind Retirement Trust on 127.0.0.1:8102, both
# trusting the wallet at 127.0.0.1:7420 (the app's default address; pass
# another issuer as the first argument). Their members include Alice Archer,
# born 1975-04-12, postcode SW1A 1AA. Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

issuer="${1:-http://127.0.0.1:7420}"
cargo build --quiet --release -p pension-provider
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
target/release/pension-provider serve --fixtures acme --trust-as "$issuer" --listen 127.0.0.1:8101 & pids+=($!)
target/release/pension-provider serve --fixtures northwind --trust-as "$issuer" --listen 127.0.0.1:8102 & pids+=($!)
echo "Add these in the app (Settings → Providers): http://127.0.0.1:8101 and http://127.0.0.1:8102" >&2
wait
