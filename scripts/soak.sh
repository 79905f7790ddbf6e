#!/usr/bin/env bash
# The reliability figures of RELIABILITY.md, in one command: the release
# binaries under 10,000 failed logins with 60 KB client ids, 50 hard kills
# during a mixed write load, and a legitimate client's grant latency with
# 1,000 polling clients, 1,000 stalled sockets and 200 bad requests a
# second. Loopback only. Each part prints its figures as JSON, also kept
# in target/soak/; the script fails if a target is missed.
#
#   bash scripts/soak.sh             # every part but steady (about 15 minutes)
#   bash scripts/soak.sh crash load  # some parts
#   bash scripts/soak.sh steady      # 45 minutes of steady grants: p99 drift, and memory
#                                    # over the 30 minutes after the live set filled
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --release --locked -p uma-wallet-cli -p pension-provider -p e2e --bins
export UMA_WALLET_BIN=$PWD/target/release/uma-wallet PENSION_PROVIDER_BIN=$PWD/target/release/pension-provider
# 1,000 stalled sockets and 1,000 pollers need file descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p target/soak
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(logins crash load)
status=0
for part in "${parts[@]}"; do
    echo "== $part"
    case $part in
        logins) args=(logins --count 10000) ;;
        crash) args=(crash --kills 50) ;;
        load) args=(load --pollers 1000 --stalled 1000 --bad-per-second 200 --seconds 60) ;;
        steady) args=(steady --minutes 45 --rate 60) ;;
        *) echo "unknown part $part" >&2; exit 2 ;;
    esac
    if ! target/release/uma-soak "${args[@]}" | tee "target/soak/$part.json"; then
        status=1
    fi
done
exit $status
