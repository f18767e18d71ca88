#!/usr/bin/env bash
# Benchmarks support-chat with examples/loadgen.rs and prints a Markdown table.
#
#   examples/bench.sh            the standard set (takes a few minutes)
#   examples/bench.sh --smoke    a short correctness run for CI (< 1 minute
#                                after the build): exits non-zero if anything
#                                was lost, duplicated or reordered
#
# Each scenario gets a fresh release server on a scratch data directory,
# started as shipped except for the per-socket rate limit and the per-IP
# connection cap, which are turned off:
#   support-chat --bind 127.0.0.1:PORT --data-dir DIR --rate-limit 0 \
#                --max-connections-per-ip 0 --agent-token bench
# The load generator runs on the same machine and shares its cores.
#
# Settings (environment variables, defaults in brackets):
#   HOLD_SESSIONS [2000]    idle sessions (customer + agent socket each)
#   RELAY_SESSIONS [100]    sessions of the relay runs
#   RELAY_RATE [14000]      msg/s of the first relay run
#   RELAY_MAX_RATE [40000]  msg/s of the second relay run (0: skip it)
#   RELAY_SECONDS [10]      seconds of sending per relay run
#   REPLAY_HISTORY [1000]   messages in the replayed conversation
#   REPLAY_RECONNECTS [200] reconnects with since=0, and as many with since=H-10
#   FLOOD_COUNT [100000]    messages of each flood run
#   SOURCES [8]             loopback source addresses (127.0.0.2 …) for client sockets
#   THREADS [2]             generator worker threads
#   PORT [0]                server port (0: any free one)
#   RELAY_ARGS, FLOOD_ARGS  extra loadgen flags for those runs, e.g. RELAY_ARGS=--no-ids
#   SCENARIOS [hold relay relay-max replay flood flood-noread]
#   OUT [target/bench]      where results.jsonl, the table and the server logs go
#   NO_BUILD                set to skip `cargo build`
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
case "${1:-}" in
"") ;;
--smoke) smoke=1 ;;
-h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "usage: $0 [--smoke]" >&2
    exit 2
    ;;
esac

if [[ $smoke == 1 ]]; then
    HOLD_SESSIONS=${HOLD_SESSIONS:-100}
    RELAY_SESSIONS=${RELAY_SESSIONS:-10}
    RELAY_RATE=${RELAY_RATE:-1000}
    RELAY_MAX_RATE=${RELAY_MAX_RATE:-0}
    RELAY_SECONDS=${RELAY_SECONDS:-3}
    REPLAY_HISTORY=${REPLAY_HISTORY:-300}
    REPLAY_RECONNECTS=${REPLAY_RECONNECTS:-20}
    FLOOD_COUNT=${FLOOD_COUNT:-2000}
    HOLD_EXTRA=(--settle 0.5 --hold 0.5 --warmup 5)
    RELAY_EXTRA=(--grace 2)
    FLOOD_EXTRA=(--idle 3)
else
    HOLD_EXTRA=()
    RELAY_EXTRA=()
    FLOOD_EXTRA=()
fi
HOLD_SESSIONS=${HOLD_SESSIONS:-2000}
RELAY_SESSIONS=${RELAY_SESSIONS:-100}
RELAY_RATE=${RELAY_RATE:-14000}
RELAY_MAX_RATE=${RELAY_MAX_RATE:-40000}
RELAY_SECONDS=${RELAY_SECONDS:-10}
REPLAY_HISTORY=${REPLAY_HISTORY:-1000}
REPLAY_RECONNECTS=${REPLAY_RECONNECTS:-200}
FLOOD_COUNT=${FLOOD_COUNT:-100000}
SOURCES=${SOURCES:-8}
THREADS=${THREADS:-2}
PORT=${PORT:-0}
SCENARIOS=${SCENARIOS:-hold relay relay-max replay flood flood-noread}
read -ra relay_args <<<"${RELAY_ARGS:-}"
read -ra flood_args <<<"${FLOOD_ARGS:-}"
RELAY_EXTRA+=("${relay_args[@]}")
FLOOD_EXTRA+=("${flood_args[@]}")
OUT=${OUT:-target/bench}

if [[ -z ${NO_BUILD:-} ]]; then
    echo "bench: building release binaries" >&2
    cargo build --release --examples --bins >&2
fi
SERVER=target/release/support-chat
LOADGEN=target/release/examples/loadgen

mkdir -p "$OUT"
results="$OUT/results.jsonl"
: >"$results"
# The generator opens two sockets per idle session, and so does the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

server_pid=""
data_dir=""
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
    if [[ -n $data_dir ]]; then
        rm -rf "$data_dir"
        data_dir=""
    fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# Starts a fresh server; sets server_pid and url.
start_server() {
    local log="$OUT/server-$1.log"
    data_dir=$(mktemp -d)
    "$SERVER" --bind "127.0.0.1:$PORT" --data-dir "$data_dir" --rate-limit 0 \
        --max-connections-per-ip 0 --agent-token bench >"$log" 2>&1 &
    server_pid=$!
    url=""
    for _ in $(seq 100); do
        url=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //') || true
        [[ -n $url ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: the server did not start; see $log" >&2
    cat "$log" >&2
    exit 1
}

failed=0
# run NAME LOADGEN-SCENARIO-ARGS...: one scenario on a fresh server.
run() {
    local name=$1
    shift
    start_server "$name"
    echo "bench: $name: loadgen $*" >&2
    local status=0
    "$LOADGEN" --url "$url" --server-pid "$server_pid" --agent-token bench \
        --sources "$SOURCES" --threads "$THREADS" --strict "$@" >>"$results" || status=$?
    if [[ $status != 0 ]]; then
        echo "bench: $name FAILED (exit $status)" >&2
        failed=1
    fi
    stop_server
}

for scenario in $SCENARIOS; do
    case $scenario in
    hold) run hold hold --sessions "$HOLD_SESSIONS" "${HOLD_EXTRA[@]}" ;;
    relay)
        run relay relay --sessions "$RELAY_SESSIONS" --rate "$RELAY_RATE" \
            --duration "$RELAY_SECONDS" "${RELAY_EXTRA[@]}"
        ;;
    relay-max)
        if [[ $RELAY_MAX_RATE != 0 ]]; then
            run relay-max relay --sessions "$RELAY_SESSIONS" --rate "$RELAY_MAX_RATE" \
                --duration "$RELAY_SECONDS" "${RELAY_EXTRA[@]}"
        fi
        ;;
    replay)
        run replay replay --history "$REPLAY_HISTORY" --reconnects "$REPLAY_RECONNECTS" \
            --gap-reconnects "$REPLAY_RECONNECTS"
        ;;
    flood) run flood flood --count "$FLOOD_COUNT" "${FLOOD_EXTRA[@]}" ;;
    flood-noread) run flood-noread flood --count "$FLOOD_COUNT" --agent-not-reading "${FLOOD_EXTRA[@]}" ;;
    *)
        echo "bench: unknown scenario $scenario" >&2
        exit 2
        ;;
    esac
done

table="$OUT/table.md"
{
    echo "support-chat $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores," \
        "$(date -u +%Y-%m-%dT%H:%MZ); generator on the same machine ($THREADS threads)"
    echo
    "$LOADGEN" table "$results"
} >"$table"
cat "$table"
echo "bench: results in $results and $table" >&2
if [[ $failed != 0 ]]; then
    echo "bench: FAILED: something was lost, duplicated, reordered or could not connect" >&2
    exit 1
fi
