#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a while each, from
# the corpus kept in fuzz/corpus/<target>. Installs cargo-fuzz if missing;
# needs the nightly toolchain (rustup toolchain install nightly).
#
#   bash scripts/fuzz.sh --seconds 600   # the long run in RELIABILITY.md (release, AddressSanitizer)
#   bash scripts/fuzz.sh --quick         # 10 seconds each, a debug build without
#                                        # a sanitizer (overflow checks on): what CI runs
#   bash scripts/fuzz.sh --seconds 60 jwt backup   # some targets only
#   --keep: add what a run finds to fuzz/corpus (then minimised), as the long run does
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

seconds=10
build=()
keep=false
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        # Builds in a fraction of the time; all the project's code is safe
        # Rust, so the sanitizer matters most for the long run.
        --quick) build=(--dev --sanitizer none); shift ;;
        --keep) keep=true; shift ;;
        *) break ;;
    esac
done
# cargo fuzz needs the nightly toolchain (for -Zsanitizer and coverage).
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
cargo +nightly fuzz build --fuzz-dir fuzz "${build[@]}"
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    echo "== $target: ${seconds}s"
    # Unless kept, a scratch copy of the corpus: what a short run finds is
    # not written into the repository.
    corpus="fuzz/corpus/$target"
    if ! $keep; then
        corpus=$(mktemp -d)
        cp -r "fuzz/corpus/$target/." "$corpus/"
    fi
    cargo +nightly fuzz run --fuzz-dir fuzz "${build[@]}" "$target" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
        | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==|SUMMARY|thread '.*' panicked)" || true
    if $keep; then
        cargo +nightly fuzz cmin --fuzz-dir fuzz "${build[@]}" "$target" "$corpus" >/dev/null 2>&1 || true
    else
        rm -rf "$corpus"
    fi
    # A crash leaves its input under fuzz/artifacts and fails the run.
    if ls "fuzz/artifacts/$target"/crash-* >/dev/null 2>&1 || ls "fuzz/artifacts/$target"/oom-* >/dev/null 2>&1; then
        echo "fuzz target $target crashed: see fuzz/artifacts/$target" >&2
        exit 1
    fi
done
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crashes"
