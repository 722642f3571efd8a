#!/usr/bin/env bash
# Load benchmark of the real HTTP server with wrk (issue 14.4).
#
#   bench/run.sh [sqlite|postgres|both]      (default: both)
#
# For each backend: a fresh data directory (and, for PostgreSQL, a fresh database created and
# dropped here), `vigie init`, a staff and a DPO token, a release `vigie serve` on a free port,
# SEED subjects created over HTTP (their ids and emails in $BENCH_DIR/subjects.txt), then wrk
# at CONNECTIONS connections for DURATION each: the mix (bench/mixed.lua), reads alone
# (bench/read.lua), creates alone (bench/create.lua) and /api/v1/health (bench/health.lua), on
# the same server. One RESULT line per run; non2xx and socket_errors must be 0. At the end the
# audit chain is verified (`vigie audit verify`) with the server stopped.
#
# Settings (environment): BIN (target/release/vigie), CONNECTIONS (64), THREADS (2),
# DURATION (10s), WARMUP (2s), SEED (1000), RUNS ("mixed read create health"),
# PG_URL (postgres://postgres@127.0.0.1:5432), PORT (18080), PERF (a directory: `perf record` the
# server during each measured run, into PERF/<backend>-<run>.data; DURATION in seconds then),
# INSTANCES (1; 2 on PostgreSQL: a second `vigie serve` on PORT+1, same database and master key,
# and each run sends CONNECTIONS/2 connections to each instance at once; a TOTAL line sums them).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/vigie}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
SEED=${SEED:-1000}
RUNS=${RUNS:-"mixed read create health"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18080}
INSTANCES=${INSTANCES:-1}
WHICH=${1:-both}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "$BIN missing: cargo build --release -p vigie" >&2; exit 1; }

SERVER=""
SERVER2=""
cleanup() {
  for pid in $SERVER $SERVER2; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  SERVER=""
  SERVER2=""
}
trap cleanup EXIT

# The servers' CPU time so far (user + system), in clock ticks.
server_cpu_ticks() { cat "/proc/$SERVER/stat" ${SERVER2:+"/proc/$SERVER2/stat"} | awk '{ t += $14 + $15 } END { print t }'; }

# Starts `vigie serve` on a port; its pid in $STARTED.
start_server() {
  local port=$1 log=$2
  shift 2
  VIGIE_LOG=warn "$@" serve --listen "127.0.0.1:$port" --retention-sweep-at off \
    --api-per-minute 0 --http-max-connections 4096 --outbox-dir "$BENCH_DIR/outbox" >"$log" 2>&1 &
  STARTED=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null && return; sleep 0.1; done
  echo "the server on port $port did not start: $log" >&2
  exit 1
}

one_backend() {
  local backend=$1
  export BENCH_DIR
  BENCH_DIR=$(mktemp -d /tmp/vigie-bench.XXXXXX)
  local db_args=() dbname=""
  if [ "$backend" = postgres ]; then
    dbname="vigie_bench_$$_$RANDOM"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $dbname" >/dev/null
    db_args=(--database-url "$PG_URL/$dbname")
  fi
  local vigie=("$BIN" --data-dir "$BENCH_DIR/data" "${db_args[@]}")
  "${vigie[@]}" init >"$BENCH_DIR/admin.token"
  "${vigie[@]}" token create --role staff >"$BENCH_DIR/staff.token"
  "${vigie[@]}" token create --role dpo >"$BENCH_DIR/dpo.token"
  local base="http://127.0.0.1:$PORT" base2="http://127.0.0.1:$((PORT + 1))"
  if [ "$INSTANCES" = 2 ]; then
    [ "$backend" = postgres ] || { echo "INSTANCES=2 needs PostgreSQL (one database, two servers)" >&2; exit 2; }
    # The second instance: its own data directory (erasure journal, instance files), the same
    # master key (a copy of the first's directory) and the same database.
    cp -a "$BENCH_DIR/data" "$BENCH_DIR/data2"
    start_server "$((PORT + 1))" "$BENCH_DIR/serve2.log" "$BIN" --data-dir "$BENCH_DIR/data2" "${db_args[@]}"
    SERVER2=$STARTED
  fi
  start_server "$PORT" "$BENCH_DIR/serve.log" "${vigie[@]}"
  SERVER=$STARTED
  local staff
  staff=$(cat "$BENCH_DIR/staff.token")

  # Seed: SEED prospects over HTTP, 8 at a time; keep each id with its email.
  seq "$SEED" | xargs -P 8 -I{} sh -c '
    email="seed-{}@bench.example"
    id=$(curl -fs -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
      -d "{\"kind\":\"prospect\",\"identity\":{\"first_name\":\"Camille\",\"last_name\":\"Seed\",\"email\":\"$email\",\"company\":\"Bench SARL\"}}" \
      "$2/api/v1/subjects" | sed -n "s/.*\"id\":\"\([0-9a-f-]*\)\".*/\1/p")
    [ -n "$id" ] && echo "$id $email"' _ "$staff" "$base" >"$BENCH_DIR/subjects.txt"
  local seeded
  seeded=$(wc -l <"$BENCH_DIR/subjects.txt")
  [ "$seeded" -eq "$SEED" ] || { echo "seeded $seeded of $SEED subjects" >&2; exit 1; }

  echo "# backend=$backend instances=$INSTANCES connections=$CONNECTIONS threads=$THREADS duration=$DURATION seed=$SEED load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
  for run in $RUNS; do
    if [ "$INSTANCES" = 2 ]; then two_instances "$backend" "$run" "$base" "$base2"; continue; fi
    BENCH_NAME=warmup wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "bench/$run.lua" "$base" >/dev/null
    if [ -n "${PERF:-}" ]; then  # PERF=DIR: a perf profile of the server during each measured run
      mkdir -p "$PERF"
      perf record -q -F 499 --call-graph dwarf,16384 -p "$SERVER" -o "$PERF/$backend-$run.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
    fi
    local cpu_before result cpu_after
    cpu_before=$(server_cpu_ticks)
    result=$(BENCH_NAME="$backend/$run" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s \
      -s "bench/$run.lua" "$base" | grep '^RESULT')
    cpu_after=$(server_cpu_ticks)
    # The server's CPU time (user + system) per request: steadier than requests/s on a busy machine.
    echo "$result" | awk -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v loadavg="$(cut -d' ' -f1 /proc/loadavg)" \
      '{ match($0, /requests=[0-9]+/); n = substr($0, RSTART + 9, RLENGTH - 9);
         printf "%s server_cpu_us_per_req=%.0f load=%s\n", $0, (n > 0 ? ticks * 1e6 / hz / n : 0), loadavg }'
  done
  cleanup
  # The audit chain must verify after the run (server stopped).
  "${vigie[@]}" audit verify | tail -1
  if [ -n "$dbname" ]; then psql "$PG_URL/postgres" -qc "DROP DATABASE $dbname" >/dev/null; fi
  rm -rf "$BENCH_DIR"
}

# One run against both instances at once, CONNECTIONS/2 connections each (BENCH_INSTANCE keeps
# their fresh emails apart); each instance's RESULT line, then a TOTAL line: the summed rate and the
# servers' CPU per request.
two_instances() {
  local backend=$1 run=$2 base=$3 base2=$4 half=$((CONNECTIONS / 2)) cpu_before cpu_after
  local other
  BENCH_INSTANCE=1 BENCH_NAME=warmup wrk -t1 -c"$half" -d"$WARMUP" -s "bench/$run.lua" "$base" >/dev/null &
  other=$!
  BENCH_INSTANCE=2 BENCH_NAME=warmup wrk -t1 -c"$half" -d"$WARMUP" -s "bench/$run.lua" "$base2" >/dev/null
  wait "$other"  # (a bare `wait` would wait for the servers too)
  cpu_before=$(server_cpu_ticks)
  BENCH_INSTANCE=1 BENCH_NAME="$backend/$run/instance1" wrk -t1 -c"$half" -d"$DURATION" --timeout 10s \
    -s "bench/$run.lua" "$base" >"$BENCH_DIR/wrk1.out" &
  other=$!
  BENCH_INSTANCE=2 BENCH_NAME="$backend/$run/instance2" wrk -t1 -c"$half" -d"$DURATION" --timeout 10s \
    -s "bench/$run.lua" "$base2" >"$BENCH_DIR/wrk2.out"
  wait "$other"
  cpu_after=$(server_cpu_ticks)
  grep -h '^RESULT' "$BENCH_DIR/wrk1.out" "$BENCH_DIR/wrk2.out"
  grep -h '^RESULT' "$BENCH_DIR/wrk1.out" "$BENCH_DIR/wrk2.out" | awk -v name="$backend/$run" \
    -v ticks=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v loadavg="$(cut -d' ' -f1 /proc/loadavg)" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2]; if (kv[1] == "p99_ms" && kv[2] > p99) p99 = kv[2] } }
    END { printf "TOTAL name=%s instances=2 requests=%d rps=%.0f worst_p99_ms=%.2f non2xx=%d socket_errors=%d server_cpu_us_per_req=%.0f load=%s\n",
      name, v["requests"], v["rps"], p99, v["non2xx"], v["socket_errors"], (v["requests"] > 0 ? ticks * 1e6 / hz / v["requests"] : 0), loadavg }'
}

case "$WHICH" in
  sqlite | postgres) one_backend "$WHICH" ;;
  both) one_backend sqlite; one_backend postgres ;;
  *) echo "usage: bench/run.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac
