#!/bin/bash
# storage-write against the release server on SQLite, then PostgreSQL,
# twice in turn, batches of 1 and 10 objects; prints requests/s,
# objects/s, p50, p99 and the server's CPU per request of each run.
#
#   cargo build --release -p kairos-shards --bin kairos && cargo build --release -p kairos-loadtest
#   benches/scripts/storage-bench.sh [postgres://postgres@127.0.0.1:5432/kbench]
#
# The PostgreSQL database is dropped and created afresh.
set -eu
PG=${1:-postgres://postgres@127.0.0.1:5432/kbench}
B=$(cd "$(dirname "$0")/../.." && pwd)/target/release
PORT=${PORT:-17500}
OUT=$(mktemp -d)
psql "${PG%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${PG##*/}" -c "CREATE DATABASE ${PG##*/}" >/dev/null

run() { # backend-name, server args...
  local name=$1; shift
  local d; d=$(mktemp -d)
  "$B/kairos" --data_dir "$d" --shards 2 --logger.level warn --socket.port "$PORT" \
    --udp.enabled false --quic.enabled false "$@" > "$d/log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "127.0.0.1:$PORT/healthcheck" && break; sleep 0.2; done
  for batch in 1 10; do
    "$B/kairos-loadtest" storage-write --target "127.0.0.1:$PORT" -c 20 -d 8 --batch "$batch" \
      --server-pid "$pid" --no-progress --json "$OUT/$name-$batch-$round.json" > /dev/null
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$d"
}
for round in 1 2; do
  run sqlite
  run postgres --database.address "$PG"
done
python3 - "$OUT" <<'PY'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    r = json.load(open(f))
    op = next(o for o in r["operations"] if o["name"] == "storage_write")
    b, l = r["settings"]["batch"], op["latency_us"]
    rate = op["throughput_ok_per_sec"]
    print(f"{os.path.basename(f)[:-5]:<16} errors {op['errors']:<4} req/s {rate:>8.0f} obj/s {rate*b:>8.0f} "
          f"p50 {l['p50']/1000:6.2f} ms p99 {l['p99']/1000:6.2f} ms "
          f"cpu/req {r['extra']['server_cpu_per_op_us']:.1f} us")
PY
