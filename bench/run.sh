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
# server during each measured run, into PERF/<backend>-<run>.data; DURATION in seconds then).
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
WHICH=${1:-both}

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "$BIN missing: cargo build --release -p vigie" >&2; exit 1; }

SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  SERVER=""
}
trap cleanup EXIT

# The server's CPU time so far (user + system), in clock ticks.
server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER/stat"; }

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
  VIGIE_LOG=warn "${vigie[@]}" serve --listen "127.0.0.1:$PORT" --retention-sweep-at off \
    --api-per-minute 0 --http-max-connections 4096 --outbox-dir "$BENCH_DIR/outbox" \
    >"$BENCH_DIR/serve.log" 2>&1 &
  SERVER=$!
  local base="http://127.0.0.1:$PORT"
  for _ in $(seq 100); do curl -fs "$base/api/v1/health" >/dev/null && break; sleep 0.1; done
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

  echo "# backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION seed=$SEED load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
  for run in $RUNS; do
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

case "$WHICH" in
  sqlite | postgres) one_backend "$WHICH" ;;
  both) one_backend sqlite; one_backend postgres ;;
  *) echo "usage: bench/run.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac
