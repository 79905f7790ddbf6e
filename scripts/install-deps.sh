#!/usr/bin/env bash
# Installs what building and running the desktop app needs on a Debian or
# Ubuntu machine: the WebKitGTK/GTK packages Tauri 2 links against, and
# Node.js and npm for the UI. With --test-tools, also what the tests need:
# Xvfb, a D-Bus session, WebKitWebDriver and tauri-driver, and a Python
# venv and iproute2 for the Schemathesis run (scripts/api-check.sh), and Caddy
# for the test behind a TLS reverse proxy, gnome-keyring for the
# keyring test, xdg-utils and GIO for opening links as a desktop does, mmdebstrap
# for installing the app's .deb into a fresh Debian root, and a
# StatusNotifierWatcher (status-notifier-watcher) for the tray's test. Safe to run
# again: it installs only what is missing.
set -euo pipefail

packages=(
    build-essential curl file pkg-config python3
    libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev
    librsvg2-dev libxdo-dev libssl-dev
    libjavascriptcoregtk-4.1-dev libsoup-3.0-dev
)
test_tools=false
[ "${1:-}" = "--test-tools" ] && test_tools=true
$test_tools && packages+=(webkit2gtk-driver xvfb xauth dbus dbus-x11 iproute2 python3-venv caddy gnome-keyring xdg-utils libglib2.0-bin mmdebstrap haskell-status-notifier-item-utils)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Vite 8 and Vitest 4 need Node.js 20.19+ or 22.12+; say so plainly rather
# than let the UI build fail later with a syntax error.
node_version=$(node -p 'process.versions.node')
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)'; then
    echo "Node.js $node_version is too old for the UI build: install Node.js 20.19+ or 22.12+ (https://nodejs.org)" >&2
    exit 1
fi

# The WebDriver proxy between the test and WebKitWebDriver; pinned, because
# its behaviour between sessions has changed across releases.
TAURI_DRIVER_VERSION=2.1.0
if $test_tools && ! command -v tauri-driver >/dev/null 2>&1; then
    cargo install tauri-driver --version "$TAURI_DRIVER_VERSION" --locked
fi
