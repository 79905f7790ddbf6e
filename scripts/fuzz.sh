#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a while each, from
# the corpus kept in fuzz/corpus/<target>. Installs cargo-fuzz if missing;
# needs the nightly toolchain (rustup toolchain install nightly).
#
#   bash scripts/fuzz.sh                 # 10 seconds each (what CI runs)
#   bash scripts/fuzz.sh --seconds 600   # the long run in RELIABILITY.md
#   bash scripts/fuzz.sh --seconds 60 jwt backup   # some targets only
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

seconds=10
if [ "${1:-}" = "--seconds" ]; then
    seconds=$2
    shift 2
fi
CARGO_FUZZ_VERSION=0.13.1
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
cargo +nightly fuzz build --fuzz-dir fuzz
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${seconds}s"
    # A scratch copy of the corpus: new inputs found in a short run are not
    # written into the repository's corpus.
    scratch=$(mktemp -d)
    cp -r "fuzz/corpus/$target/." "$scratch/"
    cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$scratch" -- -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
        | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==|SUMMARY|thread '.*' panicked)" || true
    rm -rf "$scratch"
    # A crash leaves its input under fuzz/artifacts and fails the run.
    if ls "fuzz/artifacts/$target"/crash-* >/dev/null 2>&1 || ls "fuzz/artifacts/$target"/oom-* >/dev/null 2>&1; then
        echo "fuzz target $target crashed: see fuzz/artifacts/$target" >&2
        exit 1
    fi
done
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crashes"
