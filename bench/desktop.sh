#!/usr/bin/env bash
# The desktop app's figures (BENCHMARKS.md): cold start, idle memory and
# inbox latency of the release build, in a real window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test-tools
export PATH="$HOME/.cargo/bin:$PATH"
(cd ui && npm ci --no-audit --no-fund && npm run build)
# The app as users get it: a plain release build, copied aside so the test
# build below (debug, with Tauri's test features) cannot replace it.
cargo build --release --locked -p uma-wallet-desktop -p uma-wallet-cli
mkdir -p target/bench
# Side by side, as the .deb installs them: the login entry's server in the
# tray starts the app beside it.
cp target/release/uma-wallet-desktop target/release/uma-wallet target/bench/
export UMA_WALLET_DESKTOP_BIN="$PWD/target/bench/uma-wallet-desktop"
# gnome-keyring-daemon for the idle runs, which open the wallet as at login
# (and the tray run starts Debian's status-notifier-watcher as the panel).
dbus-run-session -- env XDG_DATA_HOME="$(mktemp -d)" bash -c 'echo -n "this session only" | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null &&
    xvfb-run -a -s "-screen 0 1024x768x24" cargo test --locked -p uma-wallet-desktop --test desktop_bench -- --ignored --nocapture --test-threads=1'
