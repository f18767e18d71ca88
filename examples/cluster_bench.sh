#!/usr/bin/env bash
# Cross-node relay: three support-chat nodes on one PostgreSQL (fsync on)
# and one NATS server, customers on node 1 and their agents on node 2, so
# every message crosses nodes; next to one node on PostgreSQL and one node
# on SQLite, in the same sitting. Prints a Markdown table.
#
#   examples/cluster_bench.sh
#
# Settings (environment variables, defaults in brackets):
#   RATES ["1000 5000"]   msg/s of the relay runs (each rate, each setup)
#   SESSIONS [100]        conversations
#   SECONDS_EACH [10]     seconds of sending per run
#   PG_BIN [/usr/lib/postgresql/15/bin]
#   OUT [target/cluster-bench]
#   NO_BUILD              set to skip `cargo build --release`
# Needs root (PostgreSQL runs as the `postgres` user) and nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-1000 5000}
SESSIONS=${SESSIONS:-100}
SECONDS_EACH=${SECONDS_EACH:-10}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
OUT=${OUT:-target/cluster-bench}
command -v nats-server >/dev/null || { echo "cluster_bench: install nats-server" >&2; exit 1; }
[[ -x $PG_BIN/initdb ]] || { echo "cluster_bench: no PostgreSQL in $PG_BIN" >&2; exit 1; }
if [[ -z ${NO_BUILD:-} ]]; then
    cargo build --release --bin support-chat --example loadgen >&2
fi
SERVER=$PWD/target/release/support-chat
LOADGEN=$PWD/target/release/examples/loadgen
mkdir -p "$OUT"
results="$OUT/results.jsonl"
: >"$results"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d)
chown postgres: "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_port=$(free_port)
runuser -u postgres -- "$PG_BIN/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
    -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
nats_port=$(free_port)
nats-server -a 127.0.0.1 -p "$nats_port" >"$work/nats.log" 2>&1 &
pids+=($!)

database=0
# node ARGS...: starts a node on a free port; sets url.
node() {
    local port log
    port=$(free_port)
    log="$OUT/node-$port.log"
    mkdir -p "$work/data-$port"
    "$SERVER" --bind "127.0.0.1:$port" --data-dir "$work/data-$port" --rate-limit 0 \
        --max-connections-per-ip 0 --agent-token bench --auto-assign off "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null; then
            url="http://127.0.0.1:$port"
            return 0
        fi
        sleep 0.1
    done
    echo "cluster_bench: a node did not start; see $log" >&2
    exit 1
}

fresh_database() {
    database=$((database + 1))
    runuser -u postgres -- "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "bench$database"
    echo "postgres://postgres@127.0.0.1:$pg_port/bench$database"
}

stop_nodes() {
    # NATS is the first pid; every other is a node.
    for pid in "${pids[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done
    pids=("${pids[0]}")
}

relay() {
    local label=$1 rate=$2
    shift 2
    echo "cluster_bench: $label at $rate msg/s" >&2
    "$LOADGEN" --label "$label" --agent-token bench --strict "$@" relay --sessions "$SESSIONS" \
        --rate "$rate" --duration "$SECONDS_EACH" >>"$results"
}

nats="nats://127.0.0.1:$nats_port"
for rate in $RATES; do
    node
    relay "sqlite-1-node" "$rate" --url "$url"
    stop_nodes

    db=$(fresh_database)
    node --database-url "$db"
    relay "postgres-1-node" "$rate" --url "$url"
    stop_nodes

    db=$(fresh_database)
    node --database-url "$db" --nats-url "$nats"
    a=$url
    node --database-url "$db" --nats-url "$nats"
    b=$url
    node --database-url "$db" --nats-url "$nats"
    relay "postgres-3-nodes-cross" "$rate" --url "$a" --agent-url "$b"
    stop_nodes
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| setup | rate (msg/s) | delivered/s | p50 ms | p99 ms | p99.9 ms | lost | dup | reordered |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    l = r["latency"]
    print(f"| {r.get('label','?')} | {r['rate']} | {r['delivered_per_sec']} | {l['p50_ms']} | {l['p99_ms']} | {l['p999_ms']} | {r['lost']} | {r['duplicated']} | {r['reordered']} |")
PY
