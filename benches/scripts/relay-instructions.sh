#!/usr/bin/env bash
# User-space instructions a kairos binary spends per relayed message,
# counted by callgrind: a figure that does not move with the machine's
# load, as CPU time does, so that a change to the relay's own code can be
# judged on a noisy box. The kernel's share (system calls, loopback) is not
# in it; the relay A/B (runtime-ab.sh) measures the whole.
#
#   benches/scripts/relay-instructions.sh LABEL=BINARY[:EXTRA-ARGS] ...
#
# Each binary runs under `valgrind --tool=callgrind` with 1 shard (EXTRA-ARGS
# may say otherwise) while kairos-loadtest drives MATCHES (default 5)
# 8-player WebSocket JSON matches at 20 messages/s per player with 32-byte
# payloads, for 45 s. Counting starts after 15 s (connections, sign-ups and
# joins are over) and stops 25 s later; the messages in that window come
# from the server's own counter (`nakama_overall_message_count`). Prints,
# per binary: label, messages in the window, instructions, instructions per
# incoming message (each is delivered to 7 players) and the load's
# delivery ratio. Keep the callgrind files with KEEP=DIR, for
# callgrind_annotate.
#
# Repeat runs of one binary agree within about 3%: the count moves only
# with how the messages happen to batch per wake-up.
set -euo pipefail
cd "$(dirname "$0")/../.."
lt=target/release/kairos-loadtest
matches=${MATCHES:-5}
port=${PORT:-17590}
metrics_port=$((port + 9))
[ $# -ge 1 ] || { sed -n '2,24p' "$0"; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 2; }

count() {
  curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '/^nakama_overall_message_count/{print $2}'
}

for spec in "$@"; do
  label=${spec%%=*}
  rest=${spec#*=}
  bin=${rest%%:*}
  extra=(--shards 1)
  [[ $rest == *:* ]] && read -r -a more <<<"${rest#*:}" && extra+=("${more[@]}")
  out=$(mktemp -d)
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$bin" --data_dir "$out/data" --logger.level warn --socket.port "$port" \
    --udp.port $((port + 2)) --quic.port 0 --metrics.prometheus_port "$metrics_port" \
    --kairos.session.max_messages_per_sec 10000000 --kairos.session.message_burst 10000000 \
    "${extra[@]}" >"$out/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    grep -q "kairos listening" "$out/server.log" && break
    sleep 0.5
  done
  "$lt" match-relay --target "127.0.0.1:$port" -c $((matches * 8)) --players-per-match 8 \
    --rate 20 --payload 32 -d 45 --no-progress >"$out/load.txt" 2>&1 &
  load=$!
  sleep 15
  m0=$(count)
  callgrind_control -z "$pid" >/dev/null 2>&1
  sleep 25
  callgrind_control -d "$pid" >/dev/null 2>&1
  m1=$(count)
  wait "$load" || true
  kill -INT "$pid" && wait "$pid" || true
  ir=$(callgrind_annotate "$out/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
  n=$((m1 - m0))
  echo "$label messages=$n instructions=$ir per_message=$((ir / n)) $(grep -E 'delivery_ratio' "$out/load.txt" | tr -d ' ')"
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cp "$out/callgrind.out.1" "$KEEP/$label.callgrind"
  fi
  rm -rf "$out"
done
