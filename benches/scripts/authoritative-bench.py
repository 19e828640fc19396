#!/usr/bin/env python3
"""Authoritative matches with players, against relayed matches at the same
delivery rate (BENCHMARKS.md, "Authoritative matches with players").

    cargo build --release -p kairos-shards --bin kairos
    cargo build --release -p kairos-loadtest
    benches/scripts/authoritative-bench.py target/release/kairos \
        target/release/kairos-loadtest OUT_DIR [MATCHES ...]

For each MATCHES (default: 250 400 500 750 1000) it runs, each on a freshly
started KAIROS (2 shards, SQLite, the stock examples, the per-session rate
limit and the per-address connection cap lifted, a Prometheus port):

1. `kairos-loadtest authoritative`: MATCHES `example.arena` matches of
   PLAYERS players (default 10) at TICK_RATE (default 60) Hz, each player
   sending INPUT_RATE (default 2) inputs a second and receiving a state
   every tick;
2. unless RELAY=0, `kairos-loadtest match-relay` with as many players in
   relayed matches, each sending TICK_RATE / (PLAYERS - 1) messages a second
   of RELAY_PAYLOAD (default 480) bytes, the size of a 10-player arena
   state: the same deliveries a second, relayed instead of broadcast by a
   tick.

Both report server CPU per delivered message (`--server-pid`); the
authoritative run also gives the client side (state inter-arrival jitter,
input to state latency, states missed). During each authoritative window
the script also reads the server's tick histograms
(`kairos_match_tick_lateness_seconds`, `kairos_match_tick_seconds`) and
counters (ticks run, ticks skipped) at two points inside it (the first
progress line saying `measuring`, and SECONDS - 2 later), and the load
generator's own CPU over the same span, since on 2 cores the generator
competes with the server.

Environment: PLAYERS, TICK_RATE, INPUT_RATE, SECONDS (default 10), REPS
(default 1), RELAY (default 1), RELAY_PAYLOAD, PORT (default 17790; the
metrics listen on PORT + 5). LUA=1 also runs, after each Rust arena run,
the same game written in Lua (benches/lua/arena.lua, created by the RPC
`bench.create_arena` of benches/lua/bench.lua) on a server started with
`--runtime.path benches/lua`: its runs are named `lua-authoritative`. Every result goes to OUT_DIR as the
loadtest's table, JSON and stderr, and one summary line per run is printed and
appended to OUT_DIR/summary.jsonl. The open-file limit is raised to the
hard limit for both processes (10,000 sockets need about 10,100).

On a machine shared with other work, run it under `chrt -r 1` (root): the
server and the generator then get the cores, and the figures say what the
machine can do rather than what the other work left (BENCHMARKS.md).
"""
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from kairos_metrics import cpu_seconds, load_average, percentiles, scrape

KAIROS, LOADTEST, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
MATCHES = [int(m) for m in sys.argv[4:]] or [250, 400, 500, 750, 1000]
PLAYERS = int(os.environ.get("PLAYERS", "10"))
TICK_RATE = int(os.environ.get("TICK_RATE", "60"))
INPUT_RATE = float(os.environ.get("INPUT_RATE", "2"))
SECONDS = float(os.environ.get("SECONDS", "10"))
REPS = int(os.environ.get("REPS", "1"))
RELAY = os.environ.get("RELAY", "1") != "0"
RELAY_PAYLOAD = int(os.environ.get("RELAY_PAYLOAD", "480"))
PORT = int(os.environ.get("PORT", "17790"))
LUA = os.environ.get("LUA", "0") != "0"
LUA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lua")
METRICS = PORT + 5

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
os.makedirs(OUT, exist_ok=True)


def port_in_use():
    """Whether something listens on PORT already: kairos binds with
    SO_REUSEPORT, so a second server (another bench still running) would
    share the port silently and split the connections."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", PORT)) == 0


def start_server(lua=False):
    if port_in_use():
        raise SystemExit(f"port {PORT} is in use: is another bench running? set PORT")
    data_dir = tempfile.mkdtemp(prefix="kairos-abench-")
    log = open(os.path.join(data_dir, "server.log"), "w")
    server = subprocess.Popen(
        [KAIROS, "--data_dir", data_dir, "--shards", "2", "--logger.level", "warn",
         "--socket.port", str(PORT), "--udp.port", "0", "--quic.port", "0",
         "--metrics.prometheus_port", str(METRICS), "--kairos.runtime.examples", "true",
         "--kairos.session.max_messages_per_sec", "10000000",
         "--kairos.session.message_burst", "10000000",
         # 10,000 sockets from one address: past the default cap of 4,096
         # per shard.
         "--kairos.net.max_connections_per_ip", "0"]
        + (["--runtime.path", LUA_DIR] if lua else []),
        stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        with open(log.name) as f:
            if "kairos listening" in f.read():
                return server, data_dir
        if server.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"kairos did not start, see {log.name}")


def stop_server(server, data_dir):
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(data_dir, ignore_errors=True)


def loadtest(args, name, server, matches=None):
    """Runs the loadtest; while its window is open, reads the generator's
    CPU and, for `matches` authoritative matches, the tick metrics at two
    points inside it."""
    watch_ticks = matches is not None
    path = os.path.join(OUT, name)
    cmd = [LOADTEST] + args + ["--target", f"127.0.0.1:{PORT}", "--server-pid", str(server.pid),
                               "--json", path + ".json"]
    proc = subprocess.Popen(cmd, stdout=open(path + ".txt", "w"), stderr=subprocess.PIPE, text=True)
    samples = []

    def sample():
        hist, counters = scrape(METRICS) if watch_ticks else ({}, {})
        samples.append((time.time(), hist, counters, cpu_seconds(proc.pid)))

    timer = None
    err = open(path + ".err", "w")
    for line in proc.stderr:
        err.write(line)
        if "measuring" in line and timer is None:
            sample()
            timer = threading.Timer(max(SECONDS - 2, 1), sample)
            timer.start()
    proc.wait()
    err.close()
    if timer:
        timer.join()
    if not os.path.exists(path + ".json"):
        return None, {"command": " ".join(cmd), "exit": proc.returncode}
    with open(path + ".json") as f:
        report = json.load(f)
    out = {"command": " ".join(cmd), "exit": proc.returncode}
    if len(samples) == 2:
        (t0, h0, c0, g0), (t1, h1, c1, g1) = samples
        span = t1 - t0
        out["generator_cpu_cores"] = round((g1 - g0) / span, 3)
        if watch_ticks:
            ticks = c1["kairos_match_ticks_total"] - c0["kairos_match_ticks_total"]
            skipped = c1["kairos_match_ticks_skipped_total"] - c0["kairos_match_ticks_skipped_total"]
            _, late = percentiles(h0["kairos_match_tick_lateness_seconds"],
                                  h1["kairos_match_tick_lateness_seconds"])
            _, took = percentiles(h0["kairos_match_tick_seconds"], h1["kairos_match_tick_seconds"])
            out.update({
                "tick_span_s": round(span, 2),
                "ticks_per_sec": round(ticks / span),
                "ticks_due_per_sec": matches * TICK_RATE,
                "ticks_skipped_per_sec": round(skipped / span, 1),
                "tick_lateness_le_s": {str(k): v for k, v in late.items()},
                "tick_handler_le_s": {str(k): v for k, v in took.items()},
            })
    return report, out


def summary(kind, matches, rep, report, extra, load):
    if report is None:
        row = {"run": kind, "matches": matches, "rep": rep, "load_before": load,
               "failed": f"exit {extra['exit']}, see its .err file", "command": extra["command"]}
        print(json.dumps(row), flush=True)
        return
    e, c = report["extra"], report["counters"]
    ops = {o["name"]: o for o in report["operations"]}
    row = {
        "run": kind, "matches": matches, "rep": rep, "load_before": load,
        "players_ready": e.get("players_ready"),
        "delivered_per_sec": e.get("delivered_per_sec"),
        "delivery_ratio": e.get("delivery_ratio"),
        "server_cpu_cores": e.get("server_cpu_cores"),
        "server_cpu_per_delivered_us": e.get("server_cpu_per_delivered_us"),
        "sockets_lost": c.get("sockets_lost", 0),
        "sockets_lost_by": e.get("sockets_lost_by", {}),
    }
    if kind.endswith("authoritative"):
        lat = ops["input_to_state"]["latency_us"]
        row.update({
            "jitter_p50_us": e.get("jitter_p50_us"), "jitter_p99_us": e.get("jitter_p99_us"),
            "input_to_state_p50_us": lat["p50"], "input_to_state_p99_us": lat["p99"],
            "states_missed": c.get("states_missed"), "inputs_unreflected": c.get("inputs_unreflected"),
        })
    else:
        lat = ops["deliver"]["latency_us"]
        row.update({"deliver_p50_us": lat["p50"], "deliver_p99_us": lat["p99"],
                    "lost": c.get("lost")})
    row.update({k: v for k, v in extra.items() if k != "command"})
    row["command"] = extra["command"]
    line = json.dumps(row)
    print(line, flush=True)
    with open(os.path.join(OUT, "summary.jsonl"), "a") as f:
        f.write(line + "\n")


for rep in range(1, REPS + 1):
    for matches in MATCHES:
        players = matches * PLAYERS
        authoritative = ["authoritative", "-c", str(players), "--players-per-match", str(PLAYERS),
                         "--tick-rate", str(TICK_RATE), "--rate", str(INPUT_RATE), "-d", str(SECONDS)]
        runs = [("authoritative", authoritative)]
        if LUA:
            runs.append(("lua-authoritative", authoritative + ["--rpc", "bench.create_arena"]))
        if RELAY:
            runs.append(("match-relay", ["match-relay", "-c", str(players), "--players-per-match", str(PLAYERS),
                                         "--rate", str(round(TICK_RATE / (PLAYERS - 1), 4)),
                                         "--payload", str(RELAY_PAYLOAD), "-d", str(SECONDS)]))
        for kind, args in runs:
            load = load_average()
            server, data_dir = start_server(lua=kind.startswith("lua"))
            try:
                watched = matches if kind.endswith("authoritative") else None
                report, extra = loadtest(args, f"{kind}-{matches}-rep{rep}", server, watched)
            finally:
                stop_server(server, data_dir)
            summary(kind, matches, rep, report, extra, load)
