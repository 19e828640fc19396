"""Helpers the bench scripts share: the tick histograms and counters of a
kairos server's Prometheus endpoint, their percentiles over a window, and
a process's CPU time from /proc."""
import os
import re
import urllib.request

TICK_HISTOGRAMS = ("kairos_match_tick_lateness_seconds", "kairos_match_tick_seconds")


def scrape(port):
    """The tick histograms (cumulative bucket counts by upper bound, summed
    over shards) and the tick counters of the server whose metrics listen
    on `port`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    hist = {name: {} for name in TICK_HISTOGRAMS}
    counters = {"kairos_match_ticks_total": 0, "kairos_match_ticks_skipped_total": 0}
    for line in text.splitlines():
        m = re.match(r'(kairos_match_tick_(?:lateness_)?seconds)_bucket\{[^}]*le="([^"]+)"\} (\d+)', line)
        if m:
            name, le, v = m.group(1), m.group(2), int(m.group(3))
            hist[name][le] = hist[name].get(le, 0) + v
            continue
        m = re.match(r"(kairos_match_ticks(?:_skipped)?_total)(?:\{[^}]*\})? (\d+)", line)
        if m:
            counters[m.group(1)] += int(m.group(2))
    return hist, counters


def cpu_seconds(pid):
    """utime + stime of every thread of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(before, after, qs=(0.5, 0.99, 0.999)):
    """Samples between two scrapes of one histogram and the bucket upper
    bound holding each quantile of them."""
    les = sorted(after, key=lambda le: float("inf") if le == "+Inf" else float(le))
    cum = [(le, after[le] - before.get(le, 0)) for le in les]
    total = cum[-1][1] if cum else 0
    out = {}
    for q in qs:
        for le, n in cum:
            if total and n >= q * total:
                out[q] = le
                break
    return total, out


def load_average():
    """The 1-minute load average, as `uptime` shows it."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])
