# Sourced by the bench scripts: starting and stopping the kairos binary they
# measure, all alike.
#
#   start_kairos SPEC PORT [MORE-SERVER-ARGS...]
#
# SPEC is LABEL=BINARY[:EXTRA-ARGS]. Starts BINARY with 2 shards (EXTRA-ARGS
# may say otherwise), SQLite in a fresh directory, TCP on PORT, UDP on
# PORT + 2, no QUIC and the per-session rate limit lifted, and waits (5 s at
# most) until it listens. Sets `label`, `pid` and `dir` (the data directory,
# with the server's log in `server.log`). stop_kairos ends it and removes
# `dir`.
start_kairos() {
  local spec=$1 port=$2 rest bin
  shift 2
  label=${spec%%=*}
  rest=${spec#*=}
  bin=${rest%%:*}
  local extra=()
  [[ $rest == *:* ]] && read -r -a extra <<<"${rest#*:}"
  dir=$(mktemp -d)
  "$bin" --data_dir "$dir" --shards 2 --logger.level warn --socket.port "$port" \
    --udp.port $((port + 2)) --quic.port 0 \
    --kairos.session.max_messages_per_sec 10000000 --kairos.session.message_burst 10000000 \
    "${extra[@]}" "$@" >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do
    grep -q "kairos listening" "$dir/server.log" && break
    sleep 0.1
  done
}

stop_kairos() {
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
