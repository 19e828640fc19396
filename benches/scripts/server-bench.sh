#!/usr/bin/env bash
# Runs the server-level measurements quoted in BENCHMARKS.md, in one go so
# that every figure has its baseline from the same run.
#
#   benches/scripts/server-bench.sh [OUT_DIR]
#
# Needs a release build (cargo build --release --workspace) and, for the
# PostgreSQL rows, KAIROS_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432
# (a database kairos_bench is dropped and created there).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/bench-results}
mkdir -p "$out"
bin=target/release
lt="$bin/kairos-loadtest"
dur=${DURATION:-10}

start_server() { # name port extra-args...
  local name=$1 port=$2; shift 2
  rm -rf "/tmp/kairos-bench-$name"
  "$bin/kairos" --data_dir "/tmp/kairos-bench-$name" --shards 2 --logger.level warn \
    --socket.port "$port" "$@" >"$out/$name.server.log" 2>&1 &
  echo $! >"$out/$name.pid"
  for _ in $(seq 1 50); do
    grep -q "kairos listening" "$out/$name.server.log" && return 0
    sleep 0.1
  done
  echo "server $name did not start" >&2
  exit 1
}
stop_server() { kill -INT "$(cat "$out/$1.pid")" 2>/dev/null || true; sleep 1; }

echo "== cross-shard hop"
"$bin/mesh-hop" 100000 0 50 | tee "$out/mesh-hop.txt"

echo "== raw baselines"
"$lt" baseline-ws-echo --concurrency 1 --duration "$dur" --no-progress --json "$out/baseline-ws-echo.json"
"$lt" baseline-udp-echo --concurrency 1 --duration "$dur" --no-progress --json "$out/baseline-udp-echo.json"

echo "== sqlite"
start_server sqlite 7370
"$lt" ws-ping --target 127.0.0.1:7370 --concurrency 1 --duration "$dur" --no-progress --json "$out/ws-ping-sqlite.json"
"$lt" auth-device --target 127.0.0.1:7370 --concurrency 16 --duration "$dur" --mode new --no-progress --json "$out/auth-new-sqlite.json"
"$lt" auth-device --target 127.0.0.1:7370 --concurrency 16 --duration "$dur" --mode existing --accounts 2000 --no-progress --json "$out/auth-existing-sqlite.json"
"$lt" idle-sockets --target 127.0.0.1:7370 --sockets 2000 --duration 5 --server-pid "$(cat "$out/sqlite.pid")" --no-progress --json "$out/idle-sockets-sqlite.json"
stop_server sqlite

if [ -n "${KAIROS_BENCH_POSTGRES:-}" ]; then
  echo "== postgres"
  psql "$KAIROS_BENCH_POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS kairos_bench" -c "CREATE DATABASE kairos_bench"
  start_server postgres 7371 --database.address "$KAIROS_BENCH_POSTGRES/kairos_bench"
  "$lt" auth-device --target 127.0.0.1:7371 --concurrency 16 --duration "$dur" --mode new --no-progress --json "$out/auth-new-postgres.json"
  "$lt" auth-device --target 127.0.0.1:7371 --concurrency 16 --duration "$dur" --mode existing --accounts 2000 --no-progress --json "$out/auth-existing-postgres.json"
  stop_server postgres
else
  echo "== postgres skipped: KAIROS_BENCH_POSTGRES is not set"
fi
echo "results in $out"
