#!/usr/bin/env bash
# Every test, on a fresh Debian/Ubuntu machine with Rust: installs what the
# tests need, then runs the UI's component tests, all Rust tests (with the
# desktop commands through Tauri's IPC, the adversarial suite against the
# wallet and provider binaries, and every input of the fuzz corpus),
# Schemathesis against the owner API's and the authorization server's
# generated OpenAPI documents, the keyring unlock (app and server) against a
# real Secret Service, the desktop app end to end in a real window under Xvfb
# (with its login entry, the server in the tray through a real
# StatusNotifierWatcher, one app per wallet, and links opened through the
# desktop's own handler), the .deb installed into a fresh Debian root, and
# the command-line demo against real providers. Fuzzing itself, and the soak, are longer
# runs of their own: scripts/fuzz.sh and scripts/soak.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test-tools
export PATH="$HOME/.cargo/bin:$PATH"
# A fresh checkout gains nothing from incremental caches, which only cost
# disk (gigabytes across the test binaries).
export CARGO_INCREMENTAL=0
# Wallets the tests create anchor their history in the state folder
# (uma_as::anchor): a folder of this run's own, not the machine's.
XDG_STATE_HOME="$(mktemp -d)"
export XDG_STATE_HOME
trap 'rm -rf "$XDG_STATE_HOME"' EXIT

# The UI: the app embeds ui/dist at compile time, so it is built first.
(cd ui && npm ci --no-audit --no-fund && npm run build && npm test)

# The adversarial suite (tests/adversarial) attacks the binaries, built
# once in the profile the tests share (the demo uses the same ones).
cargo build --locked -p uma-wallet-cli -p pension-provider -p identity-service --bins
export UMA_WALLET_BIN=$PWD/target/debug/uma-wallet PENSION_PROVIDER_BIN=$PWD/target/debug/pension-provider \
    IDENTITY_SERVICE_BIN=$PWD/target/debug/identity-service
cargo test --workspace --locked

# Both OpenAPI documents against the running wallet: Schemathesis (PyPI)
# generates requests; no answer may be a 5xx or differ from its schema.
# 40 seconds a document keeps the whole run under half an hour in CI.
bash scripts/api-check.sh 40

# The system keyring: a real Secret Service (gnome-keyring-daemon, its
# keyring unlocked for this session only) keeps the passphrase of an owner
# who chose to have the wallet open itself at start: in the app, and in
# `uma-wallet serve --locked --unlock-from-keyring` that its login entry runs.
# Its keyrings live in a fresh folder, so the machine's own login keyring
# (with another password) is neither used nor touched.
dbus-run-session -- env XDG_DATA_HOME="$(mktemp -d)" bash -c 'echo -n "this session only" | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null &&
    cargo test --locked -p uma-wallet-desktop --test commands -- --ignored &&
    cargo test --locked -p uma-wallet-cli --test cli -- --ignored'

# The desktop app in a real window: Xvfb for the display, a private session
# bus (WebKit and notifications want one), tauri-driver + WebKitWebDriver.
# Screenshots land in target/e2e-screenshots/. One test at a time: apps
# starting beside WebKitWebDriver's session made it fail to start on a
# fresh CI-like run.
dbus-run-session -- xvfb-run -a -s "-screen 0 1024x768x24" \
    cargo test --locked -p uma-wallet-desktop --test desktop_e2e -- --ignored --nocapture --test-threads=1

# The app as a user installs it: the .deb from Tauri's bundler (a debug
# build, which keeps this run short), installed with apt into a fresh
# Debian root holding nothing else, its window drawn under Xvfb.
bash scripts/package-check.sh

bash scripts/demo.sh
