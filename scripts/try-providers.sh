#!/usr/bin/env bash
# The peers for trying the wallet by hand: the reference identity service on
# 127.0.0.1:8100 (it shows each sign-in code on its page, standing for your
# email), and two reference pension providers, Acme Pensions on
# 127.0.0.1:8101 and Northwind Retirement Trust on 127.0.0.1:8102, both
# trusting the wallet at 127.0.0.1:7420 (the app's default address; pass
# another issuer as the first argument) and the identity service. Their
# members include Alice Archer (alice@example.com at the identity service).
# Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

issuer="${1:-http://127.0.0.1:7420}"
identity=http://127.0.0.1:8100
cargo build --quiet --release -p pension-provider -p identity-service
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
target/release/identity-service serve --listen 127.0.0.1:8100 --show-codes >/dev/null & pids+=($!)
for spec in acme:8101 northwind:8102; do
    target/release/pension-provider serve --fixtures "${spec%%:*}" --trust-as "$issuer" --trust-identity-issuer "$identity" \
        --listen "127.0.0.1:${spec##*:}" >/dev/null & pids+=($!)
done
cat >&2 <<TEXT
In the app:
  Settings → Providers: add http://127.0.0.1:8101 and http://127.0.0.1:8102
  Offers → Prove who you are: $identity, then sign in as alice@example.com
TEXT
wait
