#!/usr/bin/env bash
# System calls, context switches and CPU time per delivered message of a
# relaying server, counted by `perf stat` while kairos-loadtest drives 8-player
# relayed matches (20 messages of 32 bytes per player per second), as
# BENCHMARKS.md ("Where the second shard's cost goes") reports them.
#
#   benches/scripts/syscall-census.sh LABEL=BINARY[:EXTRA-ARGS] ... [raw]
#
# Each LABEL=BINARY is a kairos binary, started with 2 shards unless
# EXTRA-ARGS say otherwise (e.g. "one=target/release/kairos:--shards 1");
# the word `raw` counts the raw relay baseline (kairos-loadtest
# baseline-relay's child process) instead. MATCHES (default 25), REPS
# (default 2), WINDOW (seconds counted, default 5) and PORT (default 17690)
# change the run; LOAD_ARGS adds kairos-loadtest options to the Kairos runs
# (e.g. LOAD_ARGS="--colocate-shards 2": each match's players on one shard). Needs perf with the syscalls tracepoints (root, or
# kernel.perf_event_paranoid <= 1). Each line printed: repetition, label,
# delivered/s, then per delivered message: task-clock µs, context switches,
# all system calls, and sendto, recvfrom, write (eventfd wake-ups),
# epoll_wait, futex.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/kairos-server.sh
lt=target/release/kairos-loadtest
matches=${MATCHES:-25}
reps=${REPS:-2}
window=${WINDOW:-5}
port=${PORT:-17690}
c=$((matches * 8))
dur=$((window + 5))
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
events=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex
load=(--players-per-match 8 --rate 20 --payload 32 -d "$dur" --no-progress)

# Prints the census of `pid` over the window, given the load's output file.
census() {
  local rep=$1 label=$2 pid=$3 out=$4 lpid=$5 stat
  stat=$(mktemp)
  sleep 3
  perf stat -x, -e "$events" -p "$pid" -- sleep "$window" 2>"$stat" >/dev/null
  wait "$lpid" || true
  local deliv
  deliv=$(grep -E "^delivered_per_sec" "$out" | awk '{print $2}')
  awk -F, -v d="$deliv" -v w="$window" -v rep="$rep" -v label="$label" '
    { v[$3] = $1 }
    END {
      n = d * w
      printf "%s %s delivered/s=%s task_us=%.2f cs=%.3f syscalls=%.3f sendto=%.3f recvfrom=%.3f write=%.3f epoll_wait=%.3f futex=%.3f\n",
        rep, label, d, v["task-clock"] * 1000 / n, v["context-switches"] / n,
        v["raw_syscalls:sys_enter"] / n, v["syscalls:sys_enter_sendto"] / n,
        v["syscalls:sys_enter_recvfrom"] / n, v["syscalls:sys_enter_write"] / n,
        v["syscalls:sys_enter_epoll_wait"] / n, v["syscalls:sys_enter_futex"] / n
    }' "$stat"
  rm -f "$stat"
}

for rep in $(seq 1 "$reps"); do
  for spec in "$@"; do
    out=$(mktemp)
    if [ "$spec" = raw ]; then
      "$lt" baseline-relay -c $c "${load[@]}" >"$out" 2>&1 &
      lpid=$!
      child=
      for _ in $(seq 1 50); do
        child=$(pgrep -P $lpid -f raw-relay-server || true)
        [ -n "$child" ] && break
        sleep 0.1
      done
      census "$rep" raw "$child" "$out" "$lpid"
      rm -f "$out"
      continue
    fi
    start_kairos "$spec" "$port"
    read -r -a more <<<"${LOAD_ARGS:-}"
    "$lt" match-relay --target 127.0.0.1:$port -c $c "${load[@]}" "${more[@]}" --server-pid $pid >"$out" 2>&1 &
    census "$rep" "$label" "$pid" "$out" $!
    stop_kairos
    rm -f "$out"
  done
done
