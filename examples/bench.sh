#!/usr/bin/env bash
# Benchmarks support-chat with examples/loadgen/ and prints a Markdown table.
#
#   examples/bench.sh            the standard set and the comparison with the
#                                framework floor (takes about ten minutes)
#   examples/bench.sh --smoke    a short correctness run for CI (< 1 minute
#                                after the build): exits non-zero if anything
#                                was lost, duplicated or reordered; no floor
#
# The comparison (scenario `floor`) builds the framework floor, a raw-text
# relay on the same actix stack with no JSON and no store, from
# ../shared/bench/actix-floor (next to this checkout) when that directory
# exists, and says so and skips the comparison when it does not. In one
# sitting it then runs, alternating support-chat and the floor:
#   ROUNDS rounds of relay at each of COMPARE_RATES,
#   a climb through CEILING_RATES while the p99 stays under 50 ms,
#   one support-chat run at the first compare rate with --durability full,
# and prints support-chat / floor / ratio (medians over the rounds) for CPU
# per relayed message, p50/p99/p99.9, the highest rate with p99 < 50 ms,
# disk bytes per message (/proc/PID/io write_bytes, counted until the
# server's writes settle after a run, and the part of them truncated before
# writeback) and the time from a client's close frame to the end of its TCP
# connection. The relay's messages carry ids shaped like the pages'.
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
#   SCENARIOS [hold relay relay-max replay flood flood-noread floor]
#   FLOOR_DIR [../shared/bench/actix-floor]  the floor's sources
#   FLOOR_TARGET [target/actix-floor]        its cargo target directory
#   ROUNDS [3]              alternating rounds of the comparison
#   COMPARE_RATES [5000 14000]               msg/s compared round by round
#   CEILING_RATES [14000 20000 28000 40000 56000]  the climb, until p99 ≥ 50 ms
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
if [[ $smoke == 1 ]]; then
    SCENARIOS=${SCENARIOS:-hold relay relay-max replay flood flood-noread}
else
    SCENARIOS=${SCENARIOS:-hold relay relay-max replay flood flood-noread floor}
fi
FLOOR_DIR=${FLOOR_DIR:-../shared/bench/actix-floor}
FLOOR_TARGET=${FLOOR_TARGET:-target/actix-floor}
ROUNDS=${ROUNDS:-3}
COMPARE_RATES=${COMPARE_RATES:-5000 14000}
CEILING_RATES=${CEILING_RATES:-14000 20000 28000 40000 56000}
read -ra relay_args <<<"${RELAY_ARGS:-}"
read -ra flood_args <<<"${FLOOD_ARGS:-}"
RELAY_EXTRA+=("${relay_args[@]}")
FLOOD_EXTRA+=("${flood_args[@]}")
OUT=${OUT:-target/bench}

floor=0
if [[ " $SCENARIOS " == *" floor "* ]]; then
    if [[ -f $FLOOR_DIR/Cargo.toml ]]; then
        floor=1
    else
        echo "bench: no framework floor at $FLOOR_DIR: skipping the comparison" >&2
    fi
fi
if [[ -z ${NO_BUILD:-} ]]; then
    echo "bench: building release binaries" >&2
    cargo build --release --examples --bins >&2
    if [[ $floor == 1 ]]; then
        echo "bench: building the framework floor from $FLOOR_DIR" >&2
        target=$(realpath -m "$FLOOR_TARGET")
        (cd "$FLOOR_DIR" && CARGO_TARGET_DIR=$target cargo build --release) >&2
    fi
fi
SERVER=${SERVER:-target/release/support-chat}
LOADGEN=target/release/examples/loadgen
FLOOR=$FLOOR_TARGET/release/actix-floor

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

# Starts a fresh server (extra arguments go to it); sets server_pid and url.
start_server() {
    local log="$OUT/server-$1.log"
    shift
    # Emptied here, not by the redirection below: that happens in the
    # background and could let the loop read an earlier run's address.
    : >"$log"
    data_dir=$(mktemp -d)
    "$SERVER" --bind "127.0.0.1:$PORT" --data-dir "$data_dir" --rate-limit 0 \
        --max-connections-per-ip 0 --agent-token bench "$@" >"$log" 2>&1 &
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

# Starts the floor on a free port (it prints nothing, so the port is
# probed); sets server_pid and url.
start_floor() {
    local log="$OUT/server-$1.log" port
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 30000))
        PORT=$port "$FLOOR" >"$log" 2>&1 &
        server_pid=$!
        for _ in $(seq 50); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                url="http://127.0.0.1:$port"
                return 0
            fi
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_server
    done
    echo "bench: the framework floor did not start; see $log" >&2
    cat "$log" >&2
    exit 1
}

failed=0
# loadgen NAME ARGS...: one generator run against the server at $url.
loadgen() {
    local name=$1
    shift
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

# run NAME LOADGEN-SCENARIO-ARGS...: one scenario on a fresh server.
run() {
    start_server "$1"
    loadgen "$@"
}

# relay_on WHO RATE [SERVER-ARGS...]: one relay run on a fresh support-chat
# (WHO ours or ours-full) or floor, labelled WHO for the comparison.
relay_on() {
    local who=$1 rate=$2
    shift 2
    local raw=()
    if [[ $who == floor ]]; then
        start_floor "$who-$rate"
        raw=(--raw)
    else
        start_server "$who-$rate" "$@"
    fi
    loadgen "$who-$rate" --label "$who" relay "${raw[@]}" --sessions "$RELAY_SESSIONS" \
        --rate "$rate" --duration "$RELAY_SECONDS" "${RELAY_EXTRA[@]}"
}

# The comparison with the framework floor, in one sitting.
compare_with_floor() {
    compared="$OUT/compare.jsonl"
    local from
    from=$(wc -l <"$results")
    for round in $(seq "$ROUNDS"); do
        for rate in $COMPARE_RATES; do
            # Alternate who goes first, so neither always gets the quieter slot.
            if ((round % 2)); then
                relay_on ours "$rate"
                relay_on floor "$rate"
            else
                relay_on floor "$rate"
                relay_on ours "$rate"
            fi
        done
    done
    # Above its ceiling a server may fall behind or close sockets as too
    # slow: that is the figure sought, not a failure of the bench.
    local keep=$failed
    for who in ours floor; do
        for rate in $CEILING_RATES; do
            relay_on "$who" "$rate"
            tail -1 "$results" | "$LOADGEN" compare --passes || break
        done
    done
    failed=$keep
    local first
    read -r first _ <<<"$COMPARE_RATES"
    relay_on ours-full "$first" --durability full
    tail -n +"$((from + 1))" "$results" >"$compared"
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
    floor) [[ $floor == 1 ]] && compare_with_floor ;;
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
    if [[ " $SCENARIOS " == *" floor "* && $floor == 0 ]]; then
        echo
        echo "No framework floor at $FLOOR_DIR: the comparison was skipped."
    fi
    if [[ -n ${compared:-} ]]; then
        echo
        echo "Against the framework floor ($FLOOR_DIR), $RELAY_SESSIONS sessions, $RELAY_SECONDS s" \
            "per run, medians of $ROUNDS alternating rounds:"
        echo
        "$LOADGEN" compare --rates "${COMPARE_RATES// /,}" "$compared"
    fi
} >"$table"
cat "$table"
echo "bench: results in $results and $table" >&2
if [[ $failed != 0 ]]; then
    echo "bench: FAILED: something was lost, duplicated, reordered or could not connect" >&2
    exit 1
fi
