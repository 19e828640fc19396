#!/usr/bin/env python3
"""Tick clock jitter of authoritative matches, from the server's own
histograms (BENCHMARKS.md, "Authoritative matches").

    benches/scripts/tick-jitter.py BINARY [MATCHES [TICK_RATE [SECONDS]]]

Starts BINARY (a kairos build) with 2 shards, the stock examples and a
Prometheus port; creates MATCHES `example.arena` matches (default 1000) at
TICK_RATE (default 60) through the `example.create_arena` RPC; waits 3 s;
then reads `kairos_match_tick_lateness_seconds` (how late each tick
started after it was due) and `kairos_match_tick_seconds` (the handler's
time) at both ends of a SECONDS window (default 10) and prints their
percentiles over the window (bucket upper bounds: the histograms have
1-2-5 buckets), ticks run and skipped, and the server's CPU per tick from
/proc. The arenas have no players: this prices the clock and the loop,
not the game.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from kairos_metrics import cpu_seconds, percentiles, scrape

BINARY = sys.argv[1]
MATCHES = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 60
WINDOW = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
PORT = int(os.environ.get("PORT", "17690"))
METRICS = PORT + 5


def http(method, path, body=None, auth=None):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", method=method)
    if auth:
        req.add_header("Authorization", auth)
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, data, timeout=30) as r:
        return json.loads(r.read() or b"{}")


data_dir = tempfile.mkdtemp()
server = subprocess.Popen(
    [BINARY, "--data_dir", data_dir, "--shards", "2", "--logger.level", "warn",
     "--socket.port", str(PORT), "--udp.port", "0", "--quic.port", "0",
     "--metrics.prometheus_port", str(METRICS), "--kairos.runtime.examples", "true"],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
try:
    for line in server.stdout:
        if "kairos listening" in line:
            break
    basic = "Basic " + base64.b64encode(b"defaultkey:").decode()
    token = http("POST", "/v2/account/authenticate/device?create=true",
                 {"id": "tick-jitter-bench-device"}, basic)["token"]
    for _ in range(MATCHES):
        http("POST", "/v2/rpc/example.create_arena",
             json.dumps({"tick_rate": RATE}), "Bearer " + token)
    time.sleep(3)
    h0, c0 = scrape(METRICS)
    cpu0 = cpu_seconds(server.pid)
    time.sleep(WINDOW)
    h1, c1 = scrape(METRICS)
    cpu1 = cpu_seconds(server.pid)
    ticks = c1["kairos_match_ticks_total"] - c0["kairos_match_ticks_total"]
    skipped = c1["kairos_match_ticks_skipped_total"] - c0["kairos_match_ticks_skipped_total"]
    late_n, late = percentiles(h0["kairos_match_tick_lateness_seconds"], h1["kairos_match_tick_lateness_seconds"])
    run_n, run = percentiles(h0["kairos_match_tick_seconds"], h1["kairos_match_tick_seconds"])
    cpu = cpu1 - cpu0
    print(json.dumps({
        "matches": MATCHES, "tick_rate": RATE, "window_s": WINDOW,
        "ticks": ticks, "expected_ticks": int(MATCHES * RATE * WINDOW),
        "ticks_skipped": skipped,
        "lateness_le_seconds": {str(k): v for k, v in late.items()},
        "handler_le_seconds": {str(k): v for k, v in run.items()},
        "server_cpu_cores": round(cpu / WINDOW, 3),
        "server_cpu_per_tick_us": round(cpu / max(ticks, 1) * 1e6, 2),
    }, indent=1))
finally:
    server.terminate()
    server.wait(timeout=30)
