#!/usr/bin/env bash
# Server CPU per message for several kairos binaries (or settings), taken
# in turns on the same workloads, as BENCHMARKS.md ("Runtimes") reports it.
#
#   benches/scripts/runtime-ab.sh LABEL=BINARY[:EXTRA-ARGS] ...
#
# e.g. build the two runtimes and compare them, with glommio once more
# without its spin:
#
#   cargo build --release -p kairos-loadtest
#   cargo build --release -p kairos-shards --bin kairos && cp target/release/kairos /tmp/kairos-tokio
#   cargo build --release -p kairos-shards --bin kairos --features rt-glommio && cp target/release/kairos /tmp/kairos-glommio
#   benches/scripts/runtime-ab.sh tokio=/tmp/kairos-tokio glommio=/tmp/kairos-glommio \
#     "glommio-nospin=/tmp/kairos-glommio:--mesh.spin_before_park_us 0"
#
# WORKLOADS (default "relay25 relay50 relay100 wsping auth udpcap rtt"),
# REPS (default 2) and DURATION (seconds, default 8) narrow or widen the
# run; PORT (default 17390) moves the servers off a port in use. Each
# line printed: repetition, workload, label, the measured
# operation's ok/s, p50 and p99 (µs), and the load tester's server CPU
# figures (read from /proc with --server-pid). Every server has 2 shards,
# SQLite in a fresh directory and the per-session rate limit lifted.
# relaybase25, relaybase50 and relaybase100 are the relay workloads against
# the raw relay baseline (kairos-loadtest baseline-relay, no kairos binary):
# they run once per repetition under the label "raw", e.g. for ratios to
# the floor WORKLOADS="relaybase25 relay25 relaybase50 relay50".
# udpblast is the raw one-way datagram blast (kairos-loadtest
# baseline-udp-blast, label "raw", ok/s = datagrams received per second),
# the floor of udpsat: the reliable-UDP capacity run offered past what the
# server takes (8 players at 6,000 unreliable messages/s each), whose ok/s
# over the blast's is issue 12's datagram ratio, e.g.
# WORKLOADS="udpblast udpsat". udpmax offers 8 players × 15,000 messages/s:
# past what a 2-vCPU machine whose blast reaches 750,000 datagrams/s or
# more takes (udpsat's 336,000 a second are all delivered there).
# A spec may end in @LOADTEST, a kairos-loadtest binary to drive that
# server with instead of target/release/kairos-loadtest: a server from
# before a wire change needs the generator of its own commit, e.g.
# "base=/tmp/kairos-base@/tmp/kairos-loadtest-base" (reliable UDP's
# protocol 4 changed the connect token).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/kairos-server.sh
lt=target/release/kairos-loadtest
workloads=${WORKLOADS:-relay25 relay50 relay100 wsping auth udpcap rtt}
reps=${REPS:-2}
dur=${DURATION:-8}
port=${PORT:-17390}
[ $# -ge 1 ] || { sed -n '2,35p' "$0"; exit 2; }

for rep in $(seq 1 "$reps"); do
  for w in $workloads; do
    if [ "$w" = udpblast ]; then
      out=$("$lt" baseline-udp-blast -d "$dur" --no-progress 2>&1 || true)
      echo "$rep $w raw ok/s=$(grep -E '^received_per_sec' <<<"$out" | awk '{print $2}')"
      continue
    fi
    if [[ $w == relaybase* ]]; then
      case $w in
        relaybase25) c=200 ;;
        relaybase50) c=400 ;;
        relaybase100) c=800 ;;
        *) echo "unknown workload $w" >&2; exit 2 ;;
      esac
      out=$("$lt" baseline-relay -c $c --players-per-match 8 --rate 20 --payload 32 -d "$dur" --no-progress 2>&1 || true)
      echo "$rep $w raw $(grep -E "^deliver " <<<"$out" | awk '{print "ok/s="$4" p50="$7" p99="$9}') $(grep -E 'server_cpu_per|server_cpu_cores|delivery_ratio' <<<"$out" | tr '\n' ' ')"
      continue
    fi
    for spec in "$@"; do
      gen=$lt
      if [[ $spec == *@* ]]; then
        gen=${spec##*@}
        spec=${spec%@*}
      fi
      more=()
      [[ $w == udp* ]] && more+=(--socket.outgoing_queue_size 4096)
      start_kairos "$spec" "$port" "${more[@]}"
      t=127.0.0.1:$port
      common=(--target $t -d "$dur" --server-pid $pid --no-progress)
      case $w in
        relay25) args=(match-relay -c 200 --players-per-match 8 --rate 20 --payload 32); op=deliver ;;
        relay50) args=(match-relay -c 400 --players-per-match 8 --rate 20 --payload 32); op=deliver ;;
        relay100) args=(match-relay -c 800 --players-per-match 8 --rate 20 --payload 32); op=deliver ;;
        wsping) args=(ws-ping -c 1); op=ping ;;
        auth) args=(auth-device -c 16); op=authenticate_device ;;
        udpcap) args=(match-relay --transport udp -c 8 --players-per-match 8 --rate 1000 --payload 64 --reliable false --timeout 2); op=deliver ;;
        udpsat) args=(match-relay --transport udp -c 8 --players-per-match 8 --rate 6000 --payload 64 --reliable false --timeout 2); op=deliver ;;
        udpmax) args=(match-relay --transport udp -c 8 --players-per-match 8 --rate 15000 --payload 64 --reliable false --timeout 2); op=deliver ;;
        rtt) args=(match-rtt -c 1); op=rtt ;;
        *) echo "unknown workload $w" >&2; exit 2 ;;
      esac
      out=$("$gen" "${args[@]}" "${common[@]}" 2>&1 || true)
      echo "$rep $w $label $(grep -E "^$op " <<<"$out" | awk '{print "ok/s="$4" p50="$7" p99="$9}') $(grep -E 'server_cpu_per|server_cpu_cores|generator_cpu_cores|generator_cpu_per|delivery_ratio' <<<"$out" | tr '\n' ' ')"
      stop_kairos
    done
  done
done
