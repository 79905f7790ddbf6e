#!/usr/bin/env bash
# The app as a user installs it: builds the .deb with Tauri's bundler
# (the app, and the `uma-wallet` command line its login entry runs),
# installs it with apt into a fresh Debian 12 root holding only the base
# system (mmdebstrap), starts the installed app there under Xvfb and checks
# that its window opens and draws (src-tauri/tests/installed_package.rs).
#
#   bash scripts/package-check.sh            # a debug build (what CI runs)
#   bash scripts/package-check.sh --release  # the build users get
#
# Needs root (mmdebstrap, chroot) and the packages of
# `scripts/install-deps.sh --test-tools` (which has mmdebstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
bundle_flags=(--debug)
if [ "${1:-}" = "--release" ]; then
    profile=release
    bundle_flags=()
    # What users get carries no debug information (the benchmarks' release
    # builds keep line tables): a quarter of the size.
    export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo
fi

export PATH="$HOME/.cargo/bin:$PATH"
# The UI's packages, Tauri's bundler among them, when run on its own.
[ -x ui/node_modules/.bin/tauri ] || (cd ui && npm ci --no-audit --no-fund)
(cd ui && npm run build)
rm -rf "target/$profile/bundle/deb"
# The command line goes in too, beside the app: the login entry runs its
# `serve --locked --tray` (the server in the tray, without GTK or WebKit).
cli_flags=()
[ "$profile" = release ] && cli_flags=(--release)
cargo build --locked -p uma-wallet-cli "${cli_flags[@]}"
ui/node_modules/.bin/tauri build "${bundle_flags[@]}" --bundles deb \
    --config "{\"bundle\":{\"linux\":{\"deb\":{\"files\":{\"/usr/bin/uma-wallet\":\"../target/$profile/uma-wallet\"}}}}}"
deb=$(ls "target/$profile"/bundle/deb/*.deb)
echo "built $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'

root=$(mktemp -d)
cleanup() {
    for mount in "$root/tmp/.X11-unix" "$root/dev/shm" "$root/dev/pts" "$root/dev" "$root/sys" "$root/proc"; do
        if mountpoint -q "$mount"; then umount -l "$mount"; fi
    done
    # Never into a mount that is still there: /dev is the machine's own.
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT

# Nothing but Debian's base, apt, a session bus and fonts (as any desktop
# has): apt installs the package's own dependencies, or fails.
mmdebstrap --mode=root --variant=apt --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --include="$PWD/$deb" --include=dbus,fonts-dejavu-core bookworm "$root"

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mkdir -p "$root/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"

# xvfb-run's display takes a cookie the app inside the root does not have:
# this display is the test's own, without access control, on a local socket only.
# Xvfb picks a free display and writes its number once it is ready.
displayfd=$(mktemp)
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp -ac 3>"$displayfd" &
xvfb=$!
trap 'kill $xvfb 2>/dev/null; rm -f "$displayfd"; cleanup' EXIT
for _ in $(seq 100); do [ -s "$displayfd" ] && break; sleep 0.1; done
display=:$(head -n1 "$displayfd")

DISPLAY=$display INSTALLED_ROOT=$root \
    cargo test --locked -p uma-wallet-desktop --test installed_package -- --ignored --nocapture
