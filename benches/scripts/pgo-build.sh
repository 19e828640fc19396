#!/usr/bin/env bash
# A profile-guided build of kairos for deployment: the `production` profile
# (fat LTO, one codegen unit), laid out by the branches a realistic load
# takes, so that the relay's hot code sits together and its cold code out
# of the way.
#
#   benches/scripts/pgo-build.sh [OUT]
#
# Steps: build kairos instrumented (`-Cprofile-generate`); run it on an
# embedded store while `kairos-loadtest` drives the workloads a game server
# lives on (WebSocket JSON and protobuf relayed matches, ping, device
# sign-ups, socket RPCs, reliable UDP); stop it so it writes its profile;
# merge the profile with llvm-profdata; build again with `-Cprofile-use`.
# The binary lands at OUT (default target/pgo/kairos).
#
# Needs rustup's llvm-tools (`rustup component add llvm-tools`), whose
# llvm-profdata matches rustc's LLVM, and two full builds of the
# production profile (about 25 minutes on 2 cores). Builds in target/pgo,
# apart from the usual target directories. TRAIN=SECS sets each workload's
# length (default 15).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/pgo/kairos}
train=${TRAIN:-15}
host=$(rustc -vV | awk '/^host:/{print $2}')
sysroot=$(rustc --print sysroot)
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
[ -x "$profdata" ] || { echo "llvm-profdata not found: rustup component add llvm-tools" >&2; exit 2; }
work=$(pwd)/target/pgo
raw="$work/raw"
rm -rf "$raw"
mkdir -p "$raw"

# --target keeps RUSTFLAGS off build scripts and proc macros.
build() {
  RUSTFLAGS="$1" cargo build --profile production -p kairos-shards --bin kairos \
    --target "$host" --target-dir "$work/build"
}

echo "pgo: instrumented build" >&2
build "-Cprofile-generate=$raw"
cp "$work/build/$host/production/kairos" "$work/kairos-instrumented"
cargo build --release -p kairos-loadtest
lt=target/release/kairos-loadtest

source benches/scripts/kairos-server.sh
port=${PORT:-17890}
# kairos-server.sh's start: 2 shards, embedded store, rate limits lifted.
start_kairos "train=$work/kairos-instrumented" "$port" --kairos.runtime.examples true
# A training load that fails stops the script: take the server down too.
trap 'kill "$pid" 2>/dev/null || true' EXIT
grep -q "kairos listening" "$dir/server.log" || { cat "$dir/server.log" >&2; exit 1; }

load() {
  echo "pgo: training: $*" >&2
  "$lt" "$@" --target "127.0.0.1:$port" -d "$train" --no-progress >/dev/null
}
load match-relay -c 200 --players-per-match 8 --rate 20 --payload 32
load match-relay -c 64 --players-per-match 8 --rate 20 --payload 32 --transport ws-protobuf
load match-relay -c 16 --players-per-match 8 --rate 20 --payload 32 --transport udp
load ws-ping -c 10
load rpc-echo -c 10
load auth-device -c 10

# SIGINT: the server stops gracefully and exits, writing its profile.
stop_kairos
trap - EXIT
ls "$raw"/*.profraw >/dev/null || { echo "pgo: no profile written" >&2; exit 1; }
"$profdata" merge -o "$work/kairos.profdata" "$raw"

echo "pgo: optimised build" >&2
build "-Cprofile-use=$work/kairos.profdata"
mkdir -p "$(dirname "$out")"
cp "$work/build/$host/production/kairos" "$out"
echo "pgo: built $out" >&2
