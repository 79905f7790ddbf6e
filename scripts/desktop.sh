#!/usr/bin/env bash
# Launches the desktop wallet on a Debian/Ubuntu machine with Rust:
# installs the system packages it needs (once), builds the UI and the app
# (release), and starts it. Arguments go to the app (--data-dir, --listen).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
(cd ui && npm ci --no-audit --no-fund && npm run build)
cargo build --release --locked -p uma-wallet-desktop
# The register scripts/try-providers.sh publishes, unless one is chosen.
# Read as data, not run as shell code.
if [ -z "${UMA_WALLET_REGISTRY_URL:-}" ] && [ -f target/try-providers/registry.env ]; then
    while IFS='=' read -r name value; do
        case "$name" in
            UMA_WALLET_REGISTRY_URL|UMA_WALLET_REGISTRY_KEY) export "$name=$value" ;;
        esac
    done < target/try-providers/registry.env
fi
exec target/release/uma-wallet-desktop "$@"
