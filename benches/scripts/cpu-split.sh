#!/usr/bin/env bash
# Server CPU per delivered message split into user and system time, for
# the raw relay and any kairos binaries, taken in turns: which side of the
# system-call boundary a gap to the raw relay is on.
#
#   benches/scripts/cpu-split.sh LABEL=BINARY[:EXTRA-ARGS] ...
#
# Each repetition (REPS, default 2) runs the raw relay (kairos-loadtest
# baseline-relay, label "raw") and then each binary (started as
# runtime-ab.sh starts it: 2 shards unless EXTRA-ARGS say otherwise, SQLite
# in a fresh directory, the per-session rate limit lifted) under MATCHES (default 25) 8-player WebSocket JSON
# matches at 20 messages/s per player with 32-byte payloads. The server's
# utime and stime (/proc/PID/stat, clock ticks) are read WINDOW seconds
# apart (default 10), from 6 s into the load (connecting is over), and divided by the messages
# delivered meanwhile (players × 20 × 7 per second; each run's delivery
# ratio is printed to show that they all were). A clock tick is 10 ms, so
# a 10 s window resolves about 0.07 µs per delivered message at 25 matches.
#
# NAKAMA=PATH adds a Nakama binary to each repetition, after the kairos
# binaries, under the label "nakama": started on PostgreSQL (NAKAMA_DB,
# default postgres@127.0.0.1:5432/nakama, migrated beforehand with `nakama
# migrate up --database.address ...`) at PORT + 100, loaded by the same
# match-relay and measured the same way. Nakama is built outside this
# repository (BENCHMARKS.md, "The raw relay baseline").
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/kairos-server.sh
lt=target/release/kairos-loadtest
reps=${REPS:-2}
matches=${MATCHES:-25}
window=${WINDOW:-10}
port=${PORT:-17690}
nakama=${NAKAMA:-}
nakama_db=${NAKAMA_DB:-postgres@127.0.0.1:5432/nakama}
[ $# -ge 1 ] || [ -n "$nakama" ] || { sed -n '2,24p' "$0"; exit 2; }
players=$((matches * 8))
delivered=$((players * 20 * 7 * window))
hz=$(getconf CLK_TCK)

ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

measure() { # label pid load-pid
  local u0 s0 u1 s1
  sleep 6
  read -r u0 s0 < <(ticks "$2")
  sleep "$window"
  read -r u1 s1 < <(ticks "$2")
  wait "$3" || true
  awk -v l="$1" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v d="$delivered" -v hz="$hz" -v r="$(grep -E 'delivery_ratio' "$out/load.txt" | tr -d ' ')" \
    'BEGIN { printf "%s user_us_per_delivered=%.3f system_us_per_delivered=%.3f total=%.3f %s\n", l, u * 1e6 / hz / d, s * 1e6 / hz / d, (u + s) * 1e6 / hz / d, r }'
}

for rep in $(seq 1 "$reps"); do
  out=$(mktemp -d)
  "$lt" baseline-relay -c "$players" --players-per-match 8 --rate 20 --payload 32 \
    -d $((window + 7)) --no-progress >"$out/load.txt" 2>&1 &
  load=$!
  pid=
  for _ in $(seq 1 40); do
    pid=$(pgrep -n -f raw-relay-server || true)
    [ -n "$pid" ] && break
    sleep 0.25
  done
  echo -n "$rep "
  measure raw "$pid" "$load"
  rm -rf "$out"
  for spec in "$@"; do
    start_kairos "$spec" "$port"
    out=$dir
    "$lt" match-relay --target "127.0.0.1:$port" -c "$players" --players-per-match 8 \
      --rate 20 --payload 32 -d $((window + 7)) --no-progress >"$out/load.txt" 2>&1 &
    load=$!
    echo -n "$rep "
    measure "$label" "$pid" "$load"
    stop_kairos
  done
  if [ -n "$nakama" ]; then
    out=$(mktemp -d)
    np=$((port + 100))
    "$nakama" --name "cpu-split-$rep" --data_dir "$out" --database.address "$nakama_db" \
      --socket.port "$np" --console.port $((np + 1)) --logger.level warn >"$out/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
      curl -sf "http://127.0.0.1:$np/healthcheck" >/dev/null && break
      sleep 0.1
    done
    "$lt" match-relay --target "127.0.0.1:$np" -c "$players" --players-per-match 8 \
      --rate 20 --payload 32 -d $((window + 7)) --no-progress >"$out/load.txt" 2>&1 &
    load=$!
    echo -n "$rep "
    measure nakama "$pid" "$load"
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$out"
  fi
done
