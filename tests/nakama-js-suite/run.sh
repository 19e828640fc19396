#!/usr/bin/env bash
# Runs the official nakama-js test suite (heroiclabs/nakama-js,
# packages/nakama-js-test: jest and puppeteer, the client in headless
# Chromium) against Kairos, and prints per-file counts.
#
#   tests/nakama-js-suite/run.sh /path/to/nakama-js [jest args...]
#
# The suite stays outside this repository: pass the path of a checkout of
# heroiclabs/nakama-js (or of its packages/nakama-js-test). Not part of
# `cargo test`: it needs Chromium and a fetched suite. See README.md here.
#
# Environment:
#   KAIROS_BIN        a kairos binary to run (default: cargo build, debug)
#   CHROMIUM          the browser (default /usr/bin/chromium); never downloaded
#   KAIROS_ARGS       extra flags for kairos
#   KAIROS_BACKEND    sqlite (default: embedded, in a temporary data dir) or a
#                     database address (e.g. postgres://postgres@127.0.0.1:5432/test)
#   NAKAMA_MODULES    a directory of Nakama's example modules (its
#                     data/modules), copied to <data_dir>/modules, Nakama's
#                     default runtime.path, for a Kairos with a Lua runtime
#   KEEP_LOG=1        keep the server log (its path is printed)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ $# -lt 1 ]; then
  echo "usage: $0 /path/to/nakama-js [jest args...]" >&2
  exit 2
fi
suite_arg="$(cd "$1" && pwd)"
shift
if [ -f "$suite_arg/packages/nakama-js-test/package.json" ]; then
  root="$suite_arg"
elif [ -f "$suite_arg/../../packages/nakama-js-test/package.json" ]; then
  root="$(cd "$suite_arg/../.." && pwd)"
else
  echo "$suite_arg is not a checkout of heroiclabs/nakama-js" >&2
  exit 2
fi
test_dir="$root/packages/nakama-js-test"

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "no browser at $chromium: apt-get install -y chromium (or set CHROMIUM)" >&2
  exit 2
fi
# Puppeteer must never download a browser.
export PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1
export PUPPETEER_EXECUTABLE_PATH="$chromium"

# The suite's dependencies (npm workspaces, installed at the root) and the
# two browser bundles it loads (dist/*.iife.js), built from the checkout's
# sources with the repository's own esbuild scripts.
if [ ! -d "$root/node_modules/jest-puppeteer" ]; then
  (cd "$root" && npm ci --no-audit --no-fund)
fi
(cd "$root/packages/nakama-js" && node build.mjs >/dev/null 2>&1)
(cd "$root/packages/nakama-js-protobuf" && node build.mjs >/dev/null 2>&1)

# The server: the suite's client defaults are 127.0.0.1:7350, server key
# "defaultkey" and HTTP key "defaulthttpkey" (Kairos's defaults too).
port=7350
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is taken; the suite needs it" >&2
  exit 2
fi
bin="${KAIROS_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build -p kairos-shards --bin kairos)
  bin="$repo/target/debug/kairos"
fi
work="$(mktemp -d -t kairos-jssuite.XXXXXX)"
log="$work/kairos.log"
db_args=()
if [ -n "${KAIROS_BACKEND:-}" ] && [ "${KAIROS_BACKEND}" != sqlite ]; then
  db_args=(--database.address "$KAIROS_BACKEND")
fi
if [ -n "${NAKAMA_MODULES:-}" ]; then
  mkdir -p "$work/data/modules"
  cp -R "$NAKAMA_MODULES"/. "$work/data/modules/"
fi
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_LOG:-0}" = 1 ]; then
    echo "server log: $log"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# As Nakama's test deployment: tokens that outlive the run (its compose
# file sets session.token_expiry_sec 7200). Matchmaker passes every
# second: the suite waits up to 20 s for a match (Nakama passes every 15 s
# by default, so a match there comes within one pass too).
"$bin" \
  --data_dir "$work/data" \
  --socket.port "$port" \
  --udp.enabled false --quic.enabled false \
  --kairos.runtime.examples true \
  --kairos.matchmaker.interval_ms 1000 \
  --session.token_expiry_sec 7200 \
  --logger.level "${KAIROS_LOG_LEVEL:-info}" \
  "${db_args[@]}" ${KAIROS_ARGS:-} >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if "$bin" healthcheck "$port" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "kairos exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done

# jest-puppeteer's launch options: the system browser, headless, no
# sandbox (the browser may run as root here).
cat >"$work/jest-puppeteer.config.cjs" <<JS
module.exports = {
  launch: {
    executablePath: ${chromium@Q},
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-dev-shm-usage",
      // The suite runs its client on about:blank (origin "null", not a
      // secure context) and calls 127.0.0.1: newer Chromium blocks that
      // as a local-network request from a public page, whatever server
      // answers. These are browser policies, off as in a developer's
      // browser of the suite's time.
      "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults",
    ],
  },
};
JS
export JEST_PUPPETEER_CONFIG="$work/jest-puppeteer.config.cjs"

results="$work/results.json"
set +e
# client-friend.test.ts imports "@heroiclabs/nakama-js/client", a path the
# package's "exports" map no longer lists, so jest cannot load that file on
# any server; the import only names the browser global's type, so map it to
# the package root as every other file imports it.
mapper='{"^@heroiclabs/nakama-js/client$":"@heroiclabs/nakama-js"}'
(cd "$test_dir" && npx jest --runInBand --json --outputFile="$results" \
  --moduleNameMapper="$mapper" "$@") \
  >"$work/jest.out" 2>&1
jest_rc=$?
set -e
if [ ! -s "$results" ]; then
  cat "$work/jest.out" >&2
  echo "jest wrote no results (exit $jest_rc)" >&2
  exit 1
fi
if [ -n "${JEST_OUT:-}" ]; then cp "$work/jest.out" "$JEST_OUT"; fi
if [ -n "${RESULTS_OUT:-}" ]; then cp "$results" "$RESULTS_OUT"; fi
node "$here/summary.mjs" "$results"
