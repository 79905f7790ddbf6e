#!/usr/bin/env bash
# Load benchmark: our UMA server against oidc-provider (the peer), with wrk on
# loopback only. Usage, from anywhere in the repo:
#
#   bash bench/run.sh
#
# Env: DURATION (wrk -d, default 10s), THREADS (2), CONNS (64),
#      TICKETS (UMA tickets per grant run, default 30000 per second of DURATION:
#        enough for ~30k grants/s; minting them runs at ~30k/s, so prepare
#        stays near DURATION, and well inside the server's 300 s ticket TTL),
#      SKIP_OURS=1 to bench the peer only,
#      OURS_BIN=dir with prebuilt uma-wallet and uma-bench (skips cargo build).
# Writes the table to bench/results/latest.md and raw wrk output to bench/results/raw/.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
RESULTS=bench/results
WORK=$(mktemp -d)
mkdir -p "$RESULTS/raw"
rm -f "$RESULTS"/raw/*.txt  # no stale figures from an earlier run

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }
die() { echo "ERROR: $*" >&2; exit 1; }

duration_secs() { # 10s, 2m, 1h, 30 -> seconds
  local d=$1
  case $d in
    *h) echo $(( ${d%h} * 3600 )) ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *s) echo "${d%s}" ;;
    *) echo "$d" ;;
  esac
}
TICKETS=${TICKETS:-$(( $(duration_secs "$DURATION") * 30000 ))}

# Every URL we load comes from a server's ready line; never let wrk or curl
# go anywhere but loopback.
assert_loopback() {
  [[ $1 =~ ^http://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?/ ]] \
    || die "refusing non-loopback URL: $1"
}

# start_server NAME CMD...: runs CMD in the background, waits for its first
# stdout line (JSON) and sets SERVER_PID and READY.
start_server() {
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 300); do
    if [[ $(wc -l <"$WORK/$name.out") -ge 1 ]]; then
      READY=$(head -n1 "$WORK/$name.out")
      jq -e . >/dev/null <<<"$READY" || die "$name: ready line is not JSON: $READY"
      return
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; die "$name exited before ready"; }
    sleep 0.1
  done
  die "$name: no ready line after 30s"
}

stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# CPU seconds (user + system, all threads) a process has used so far.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

RUN_OK='.non2xx == 0 and .bad_body == 0 and .errors == 0 and .tickets_exhausted == 0 and (.thread_mismatch | not)'

# run_wrk NAME SCRIPT URL [SCRIPT_ARGS...]: prints the script's JSON summary,
# with the CPU seconds the server (SERVER_PID) used during the run added.
run_wrk() {
  local name=$1 script=$2 url=$3; shift 3
  assert_loopback "$url"
  log "wrk $name: -t$THREADS -c$CONNS -d$DURATION $url"
  local cpu0
  cpu0=$(cpu_secs "$SERVER_PID")
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "bench/wrk/$script" "$url" -- "$@" \
    >"$RESULTS/raw/$name.txt" 2>&1 || { cat "$RESULTS/raw/$name.txt" >&2; die "wrk $name failed"; }
  local summary
  summary=$(grep '^{"script"' "$RESULTS/raw/$name.txt" | tail -n1)
  [[ -n $summary ]] || die "wrk $name: no summary line (see $RESULTS/raw/$name.txt)"
  summary=$(jq -c --arg name "$name" --argjson cpu "$(calc "$(cpu_secs "$SERVER_PID") - $cpu0")" \
    '{name: $name} + . + {server_cpu_s: $cpu}' <<<"$summary")
  # A thread that runs out of tickets stops early, so the rate understates
  # what the server can do: the figure is not valid.
  jq -e '.tickets_exhausted == 0' >/dev/null <<<"$summary" \
    || echo "WARNING: $name ran out of tickets ($TICKETS were prepared); rerun with a larger TICKETS" >&2
  # A run with failed requests is not a throughput figure: say so loudly.
  jq -e "$RUN_OK" >/dev/null <<<"$summary" \
    || echo "WARNING: $name had failures: $summary" >&2
  echo "$summary"
}

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
check() { awk "BEGIN { exit !($1) }" && echo pass || echo FAIL; }

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
field() { jq -r ".$1" <<<"$2"; }

# --- prerequisites -----------------------------------------------------------
SUDO=$([[ $(id -u) == 0 ]] || echo sudo)
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
for tool in node npm curl jq; do command -v "$tool" >/dev/null || die "$tool is required"; done
[[ -d bench/peer/node_modules ]] || (cd bench/peer && npm ci --no-audit --no-fund)

# --- peer: oidc-provider ----------------------------------------------------
bench_peer() {
  log "peer: starting oidc-provider"
  NODE_ENV=production PORT=0 start_server peer node bench/peer/peer.mjs
  local pid=$SERVER_PID cfg=$READY
  local te ie auth
  te=$(field token_endpoint "$cfg"); ie=$(field introspection_endpoint "$cfg")
  assert_loopback "$te"; assert_loopback "$ie"
  auth=$(basic "$(field client_id "$cfg")" "$(field client_secret "$cfg")")

  PEER_CC=$(run_wrk peer_cc cc_grant.lua "$te" "$(field client_id "$cfg")" "$(field client_secret "$cfg")" api:read)

  # Token fetched after the grant run: oidc-provider's memory adapter is an
  # LRU of 1000 entries, so a token issued before that run would be evicted.
  local token
  token=$(curl -fsS -H "Authorization: $auth" -d grant_type=client_credentials -d scope=api:read "$te" | jq -er .access_token)
  curl -fsS -H "Authorization: $auth" --data-urlencode "token=$token" "$ie" | jq -e '.active == true' >/dev/null \
    || die "peer: fresh token does not introspect as active"
  PEER_INTRO=$(run_wrk peer_introspect introspect.lua "$ie" "$token" "$auth")
  curl -fsS -H "Authorization: $auth" --data-urlencode "token=$token" "$ie" | jq -e '.active == true' >/dev/null \
    || die "peer: token no longer active after the introspection run"

  PEER_RSS=$(rss_mib "$pid")
  stop_server "$pid"
}

# --- ours: uma-wallet ---------------------------------------------------------
# Interface (crates/cli):
#   uma-wallet init --data-dir D                  (passphrase from UMA_WALLET_PASSPHRASE)
#   uma-wallet serve --data-dir D --listen 127.0.0.1:0
#       ready line: one JSON line with issuer, owner_api, listen, pid
#   uma-bench prepare --data-dir D --issuer I --owner-api O --tickets N
#       --resources R --policies P --out OUT
#       over HTTP: PAT (owner-minted jwt-bearer assertion), R resources, a
#       client, 1 auto-permit + P-1 filler policies, one checked RPT, N tickets;
#       writes OUT/setup.json {client_id, client_secret, pat, rpt,
#       token_endpoint, introspection_endpoint, ..., prepare_seconds} and
#       OUT/tickets.txt (one ticket per line)
# ours_instance NAME RESOURCES POLICIES: starts a fresh server with that data
# and sets OURS_PID, OURS_SETUP (setup.json content) and OURS_TICKETS (file).
ours_instance() {
  local name=$1 resources=$2 policies=$3
  local data=$WORK/$name-data out=$WORK/$name-out
  mkdir -p "$data" "$out"
  "$OURS_BIN/uma-wallet" init --data-dir "$data" >/dev/null || die "ours/$name: init failed"
  log "ours/$name: serve"
  start_server "$name" "$OURS_BIN/uma-wallet" serve --data-dir "$data" --listen 127.0.0.1:0 --tickets-per-minute 100000000
  OURS_PID=$SERVER_PID
  local issuer owner_api
  issuer=$(field issuer "$READY"); owner_api=$(field owner_api "$READY")
  assert_loopback "$issuer/"; assert_loopback "$owner_api/"
  log "ours/$name: prepare $TICKETS tickets, $resources resources, $policies policies"
  "$OURS_BIN/uma-bench" prepare --data-dir "$data" --issuer "$issuer" --owner-api "$owner_api" \
    --tickets "$TICKETS" --resources "$resources" --policies "$policies" --out "$out" \
    || { tail -n 20 "$WORK/$name.err" >&2; die "ours/$name: uma-bench prepare failed"; }
  OURS_SETUP=$(cat "$out/setup.json")
  OURS_TICKETS=$out/tickets.txt
  [[ $(wc -l <"$OURS_TICKETS") -eq $TICKETS ]] || die "ours/$name: tickets.txt does not hold $TICKETS tickets"
  PREPARE+=("$name: $(jq -c '{resources, policies, tickets, prepare_seconds}' <<<"$OURS_SETUP"), RSS after prepare $(rss_mib "$OURS_PID") MiB")
}

bench_ours() {
  if [[ -z ${OURS_BIN:-} ]]; then
    log "ours: cargo build --release -p uma-wallet-cli -p uma-bench"
    cargo build --release -p uma-wallet-cli -p uma-bench
    OURS_BIN=${CARGO_TARGET_DIR:-target}/release
  fi
  export UMA_WALLET_PASSPHRASE=${UMA_WALLET_PASSPHRASE:-bench-passphrase}
  PREPARE=()

  ours_instance ours_small 100 100
  local s=$OURS_SETUP
  OURS_GRANT=$(run_wrk ours_grant uma_grant.lua "$(field token_endpoint "$s")" \
    "$OURS_TICKETS" "$(field client_id "$s")" "$(field client_secret "$s")" "$THREADS")
  OURS_INTRO=$(run_wrk ours_introspect introspect.lua "$(field introspection_endpoint "$s")" \
    "$(field rpt "$s")" "Bearer $(field pat "$s")")
  OURS_RSS=$(rss_mib "$OURS_PID")
  stop_server "$OURS_PID"

  ours_instance ours_scale 100000 100000
  s=$OURS_SETUP
  OURS_SCALE=$(run_wrk ours_scale_grant uma_grant.lua "$(field token_endpoint "$s")" \
    "$OURS_TICKETS" "$(field client_id "$s")" "$(field client_secret "$s")" "$THREADS")
  OURS_SCALE_RSS=$(rss_mib "$OURS_PID")
  stop_server "$OURS_PID"
}

# --- report -------------------------------------------------------------------

report() {
  local pcc pin pccp pinp
  pcc=$(field rps "$PEER_CC"); pin=$(field rps "$PEER_INTRO")
  pccp=$(field p99_ms "$PEER_CC"); pinp=$(field p99_ms "$PEER_INTRO")
  echo "# Load benchmark: ours vs oidc-provider"
  echo
  echo "$(date -u +%FT%TZ), commit $(git describe --always --dirty 2>/dev/null || echo none)," \
    "wrk -t$THREADS -c$CONNS -d$DURATION on 127.0.0.1, $(nproc) cores," \
    "node $(node --version), oidc-provider $(jq -r .version bench/peer/node_modules/oidc-provider/package.json)"
  echo
  echo "| metric | peer | ours | ratio | target | result |"
  echo "| --- | --- | --- | --- | --- | --- |"
  if [[ -z ${OURS_GRANT:-} ]]; then
    echo "| grants/s (peer: client_credentials) | $pcc | - | - | ours >= 3x | - |"
    echo "| introspections/s | $pin | - | - | ours >= 5x | - |"
    echo "| grant p99 ms | $pccp | - | - | ours <= peer/10 | - |"
    echo "| introspection p99 ms | $pinp | - | - | ours <= peer/10 | - |"
    echo "| RSS MiB after runs | $PEER_RSS | - | - | ours <= peer/4 | - |"
  else
    local og oi ogp oip sg
    og=$(field rps "$OURS_GRANT"); oi=$(field rps "$OURS_INTRO")
    ogp=$(field p99_ms "$OURS_GRANT"); oip=$(field p99_ms "$OURS_INTRO")
    sg=$(field rps "$OURS_SCALE")
    echo "| grants/s (peer: client_credentials, ours: UMA ticket) | $pcc | $og | $(calc "$og/$pcc")x | >= 3x | $(check "$og >= 3*$pcc") |"
    echo "| introspections/s | $pin | $oi | $(calc "$oi/$pin")x | >= 5x | $(check "$oi >= 5*$pin") |"
    echo "| grant p99 ms | $pccp | $ogp | $(calc "$ogp/$pccp") | <= 0.10 | $(check "$ogp <= $pccp/10") |"
    echo "| introspection p99 ms | $pinp | $oip | $(calc "$oip/$pinp") | <= 0.10 | $(check "$oip <= $pinp/10") |"
    echo "| RSS MiB after runs | $PEER_RSS | $OURS_RSS | $(calc "$OURS_RSS/$PEER_RSS") | <= 0.25 | $(check "$OURS_RSS <= $PEER_RSS/4") |"
    echo "| scale: grants/s at 100k resources+policies vs 100 | - | $sg vs $og | $(calc "$sg/$og") | >= 0.90 | $(check "$sg >= 0.9*$og") |"
    echo
    echo "Scale instance RSS after its run: $OURS_SCALE_RSS MiB. Tickets per grant run: $TICKETS."
    echo
    echo "Prepare (uma-bench, over HTTP):"
    echo
    for p in "${PREPARE[@]}"; do echo "- $p"; done
  fi
  # A run with failed requests or too few tickets does not count, whatever the table says.
  for s in "$PEER_CC" "$PEER_INTRO" "${OURS_GRANT:-}" "${OURS_INTRO:-}" "${OURS_SCALE:-}"; do
    if [[ -n $s ]] && ! jq -e "$RUN_OK" >/dev/null <<<"$s"; then
      echo
      echo "**$(field name "$s") is not a valid figure** (failed requests or ran out of tickets): $s"
    fi
  done
  echo
  echo "Raw wrk summaries (server_cpu_s: CPU seconds the server used during the run):"
  echo
  echo '```'
  for s in "$PEER_CC" "$PEER_INTRO" "${OURS_GRANT:-}" "${OURS_INTRO:-}" "${OURS_SCALE:-}"; do
    if [[ -n $s ]]; then echo "$s"; fi
  done
  echo '```'
}

bench_peer
[[ ${SKIP_OURS:-0} == 1 ]] || bench_ours
report | tee "$RESULTS/latest.md"
