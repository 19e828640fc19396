#!/usr/bin/env bash
# Runs the server-level measurements quoted in BENCHMARKS.md, in one go so
# that every figure has its baseline from the same run.
#
#   benches/scripts/server-bench.sh [OUT_DIR]
#
# Needs a release build (cargo build --release --workspace) and, for the
# PostgreSQL rows, KAIROS_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432
# (a database kairos_bench is dropped and created there). DURATION (seconds
# per scenario, default 10) shortens or lengthens the whole run.
#
# Pinning: the server's shards pin themselves to cores 0 and 1; the load
# generator runs on one thread (or one thread per connection for the
# kairos-client transports) beside it. Baselines run right before the
# scenarios they are quoted against.
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
  # The closed-loop scenarios (ws-ping, match-rtt) send one message per
  # round trip, thousands a second per session: lift the per-session rate
  # limit (kairos.session.max_messages_per_sec, 500 by default) so they
  # measure the server, not its throttle.
  "$bin/kairos" --data_dir "/tmp/kairos-bench-$name" --shards 2 --logger.level warn \
    --kairos.session.max_messages_per_sec 10000000 --kairos.session.message_burst 10000000 \
    --socket.port "$port" --udp.port 0 --quic.port 0 "$@" >"$out/$name.server.log" 2>&1 &
  echo $! >"$out/$name.pid"
  for _ in $(seq 1 50); do
    grep -q "kairos listening" "$out/$name.server.log" && return 0
    sleep 0.1
  done
  echo "server $name did not start" >&2
  exit 1
}
stop_server() { kill -INT "$(cat "$out/$1.pid")" 2>/dev/null || true; sleep 1; }
run() { # json-name args...
  local name=$1; shift
  echo "-- $name: kairos-loadtest $*"
  "$lt" "$@" --no-progress --json "$out/$name.json" | tee "$out/$name.txt"
}

echo "== cross-shard hop"
"$bin/mesh-hop" 100000 0 50 | tee "$out/mesh-hop.txt"

echo "== sqlite"
start_server sqlite 7370
t=127.0.0.1:7370
# Round trips against their raw floors, alternating baseline and scenario.
run baseline-ws-echo baseline-ws-echo -c 1 -d "$dur"
run ws-ping-sqlite ws-ping --target $t -c 1 -d "$dur"
run match-rtt-ws-json match-rtt --target $t --transport ws-json -c 1 -d "$dur"
run baseline-ws-echo-2 baseline-ws-echo -c 1 -d "$dur"
run baseline-udp-echo baseline-udp-echo -c 1 -d "$dur" --payload 64
run match-rtt-udp match-rtt --target $t --transport udp -c 1 -d "$dur"
run match-rtt-quic match-rtt --target $t --transport quic -c 1 -d "$dur"
run baseline-udp-echo-2 baseline-udp-echo -c 1 -d "$dur" --payload 64
# One-way delivery in 8-player matches: latency at a game's rate (20/s per
# player: the shards park between messages) and at 200/s (they stay busy).
for tr in ws-json udp quic; do
  run "match-relay-$tr" match-relay --target $t --transport $tr --players-per-match 8 -c 16 --rate 20 --payload 64 --reliable true -d "$dur"
  run "match-relay-$tr-busy" match-relay --target $t --transport $tr --players-per-match 8 -c 16 --rate 200 --payload 64 --reliable true -d "$dur"
done
# Delivered messages per second in 8-player matches over reliable UDP,
# against the raw one-way datagram rate measured just before.
run baseline-udp-blast baseline-udp-blast -c 1 --payload 64 -d "$dur"
stop_server sqlite
start_server sqlite-capacity 7372 --socket.outgoing_queue_size 4096
run match-relay-udp-capacity match-relay --target 127.0.0.1:7372 --transport udp --players-per-match 8 -c 8 --rate 1000 --payload 64 --reliable false -d "$dur" --timeout 2
stop_server sqlite-capacity
start_server sqlite-spaced 7373 --socket.outgoing_queue_size 4096 --udp.flush_spacing_us 1000
run match-relay-udp-capacity-spaced match-relay --target 127.0.0.1:7373 --transport udp --players-per-match 8 -c 8 --rate 2000 --payload 64 --reliable false -d "$dur" --timeout 2
stop_server sqlite-spaced
start_server sqlite 7370
run chat-fanout chat-fanout --target $t -c 100 --senders 10 --rate 10 -d "$dur"
run auth-new-sqlite auth-device --target $t -c 16 -d "$dur" --mode new
run auth-existing-sqlite auth-device --target $t -c 16 -d "$dur" --mode existing --accounts 2000
run idle-sockets-sqlite idle-sockets --target $t --sockets 2000 --duration 5 --server-pid "$(cat "$out/sqlite.pid")"
stop_server sqlite

if [ -n "${KAIROS_BENCH_POSTGRES:-}" ]; then
  echo "== postgres"
  psql "$KAIROS_BENCH_POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS kairos_bench" -c "CREATE DATABASE kairos_bench"
  start_server postgres 7371 --database.address "$KAIROS_BENCH_POSTGRES/kairos_bench"
  run auth-new-postgres auth-device --target 127.0.0.1:7371 -c 16 -d "$dur" --mode new
  run auth-existing-postgres auth-device --target 127.0.0.1:7371 -c 16 -d "$dur" --mode existing --accounts 2000
  run idle-sockets-postgres idle-sockets --target 127.0.0.1:7371 --sockets 2000 --duration 5 --server-pid "$(cat "$out/postgres.pid")"
  stop_server postgres
else
  echo "== postgres skipped: KAIROS_BENCH_POSTGRES is not set"
fi
echo "results in $out"
