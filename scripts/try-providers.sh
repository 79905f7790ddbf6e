#!/usr/bin/env bash
# The peers for trying the wallet by hand: the reference identity service on
# 127.0.0.1:8100 (it shows each sign-in code on its page, standing for your
# email), two reference pension providers, Acme Pensions on 127.0.0.1:8101
# and Northwind Retirement Trust on 127.0.0.1:8102, both trusting the wallet
# at 127.0.0.1:7420 (the app's default address; pass another issuer as the
# first argument) and the identity service, and a register of providers (a
# signed governance registry listing both) published on 127.0.0.1:8103 for
# the app's first run. Their members include Alice Archer
# (alice@example.com at the identity service). Ctrl-C stops them.
#
# The register's address and key go to target/try-providers/registry.env,
# which scripts/desktop.sh reads, so the app finds both providers with
# nothing to type.
set -euo pipefail
cd "$(dirname "$0")/.."

issuer="${1:-http://127.0.0.1:7420}"
identity=http://127.0.0.1:8100
cargo build --quiet --release -p pension-provider -p identity-service -p registry
work=target/try-providers
mkdir -p "$work"
registry=target/release/registry
[ -f "$work/registry.key" ] || "$registry" keygen --out "$work/registry.key" > "$work/registry.did"
"$registry" new --name "Reference register of pension providers" --out "$work/registry.json" >/dev/null
"$registry" add "$work/registry.json" --role pension-provider --id http://127.0.0.1:8101 --name "Acme Pensions" >/dev/null
"$registry" add "$work/registry.json" --role pension-provider --id http://127.0.0.1:8102 --name "Northwind Retirement Trust" >/dev/null
"$registry" sign "$work/registry.json" --key "$work/registry.key" --out "$work/registry.jws" >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
target/release/identity-service serve --listen 127.0.0.1:8100 --show-codes >/dev/null & pids+=($!)
for spec in acme:8101 northwind:8102; do
    target/release/pension-provider serve --fixtures "${spec%%:*}" --trust-as "$issuer" --trust-identity-issuer "$identity" \
        --listen "127.0.0.1:${spec##*:}" >/dev/null & pids+=($!)
done
"$registry" publish "$work/registry.jws" --listen 127.0.0.1:8103 >/dev/null & pids+=($!)
printf 'UMA_WALLET_REGISTRY_URL=http://127.0.0.1:8103/registry.jws\nUMA_WALLET_REGISTRY_KEY=%s\n' "$(cat "$work/registry.did")" > "$work/registry.env"
cat >&2 <<TEXT
Now start the app (bash scripts/desktop.sh): its first run finds both
providers by itself. To prove who you are, sign in at $identity as
alice@example.com.
TEXT
wait
