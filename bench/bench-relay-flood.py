#!/usr/bin/python3
"""The relay under a half-open handshake flood, and what address
validation (stateless Retry) costs a normal call.

  bench/bench-relay-flood.py [--quick] [--build DIR] [--markdown FILE]
                             [--json FILE] [--callgrind]

1. Flood.  A wzp-relay on loopback; tests/fault/wzp-fault forges valid
   client Initials (a real ClientHello re-encrypted under a fresh
   connection ID per packet, never continued) at a fixed rate from 64
   source addresses for 8 s (--quick: 4 s).  Meanwhile a real client
   (WzpSignalClient) registers every 250 ms.  Per configuration: the
   relay's CPU (share of one core, from /proc/PID/stat) and peak RSS
   during the flood, the flood's achieved rate, what the relay sent back
   (bytes, relative to the flood's), and the real client's registration
   latency (median, p90, max, failures).  Configurations: the defaults
   (retry=auto), and "no protection": retry=never with the half-open and
   per-source limits raised to 20,000, which is what the relay did before
   (it stops at 3 s: its memory grows ~100 KB per Initial).
2. Call setup with and without the Retry path: two `wzp call` parties
   through the relay (bench/bench-setup-loss.py's runner, no loss),
   registration and call setup (offer sent -> active), with retry=never,
   auto (no flood: no Retry is sent) and always (every connection makes
   one extra round trip first).  --quick: 10 runs each, else 30.
3. --callgrind: instructions (valgrind --tool=callgrind, whole relay
   process) per Initial answered with a Retry, per Initial that becomes a
   half-open handshake (retry=never), and per registration with and
   without Retry: machine-independent numbers for the CPU comparison.

Prints Markdown.  Not a test; needs no root.  The machine it runs on
matters: numbers in docs/BENCHMARKS.md say where they were taken.
"""
import argparse
import importlib.util
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BANNER = re.compile(r"fingerprint (\S+) listening on (\S+) \(probe (\S+)"
                    r"(?:, media \S+, \d+ workers?)?"
                    r"(?:, metrics http://(\S+)/metrics)?\)")


sys.path.insert(0, HERE)
import prereqs  # noqa: E402


def load_setup_loss():
    spec = importlib.util.spec_from_file_location(
        "bench_setup_loss", os.path.join(HERE, "bench-setup-loss.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Relay:
    def __init__(self, build, tmp, args, prefix=()):
        self.key = os.path.join(tmp, "relay-%d.key" % time.monotonic_ns())
        cmd = list(prefix) + [os.path.join(build, "tools", "wzp-relay"),
                              "--listen", "127.0.0.1:0", "--probe-listen",
                              "127.0.0.1:0", "--metrics", "127.0.0.1:0",
                              "--identity", self.key] + args
        self.err = open(self.key + ".log", "w")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True)
        line = self.p.stdout.readline()
        m = BANNER.search(line)
        if not m:
            self.p.kill()
            raise RuntimeError("relay did not start: %r" % line)
        self.fp, self.addr, self.metrics_addr = m.group(1), m.group(2), \
            m.group(4)

    def metrics(self):
        body = urllib.request.urlopen("http://%s/metrics" % self.metrics_addr,
                                      timeout=60).read().decode()
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def cpu_s(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err.close()


def fault(build, *args, timeout=300):
    r = subprocess.run([os.path.join(build, "tests", "fault", "wzp-fault")] +
                       [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError("wzp-fault %s: %s" % (args[0], r.stderr[-2000:]))
    return json.loads(lines[-1])


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fmt(v, f="%.0f"):
    return "—" if v is None else f % v


# --- 1. flood ----------------------------------------------------------

UNPROTECTED = ["--retry", "never", "--max-half-open", "20000",
               "--max-half-open-per-source", "20000",
               "--max-connections-per-source", "20000"]


def flood_case(build, tmp, label, relay_args, rate, seconds):
    relay = Relay(build, tmp, relay_args)
    try:
        time.sleep(0.3)
        rss0 = relay.rss_mb()
        out = {}
        t = threading.Thread(target=lambda: out.update(fault(
            build, "flood", "--relay", relay.addr, "--rate", rate,
            "--duration", seconds, "--sources", 64)))
        cpu0, wall0 = relay.cpu_s(), time.monotonic()
        t.start()
        time.sleep(0.5)
        reg = {}
        rt = threading.Thread(target=lambda: reg.update(fault(
            build, "register", "--relay", relay.addr, "--fingerprint",
            relay.fp, "--count", max(1, int((seconds - 1) / 0.3)),
            "--interval-ms", 250, "--timeout-ms", 5000)))
        rt.start()
        peak = rss0
        while t.is_alive():
            peak = max(peak, relay.rss_mb())
            time.sleep(0.05)
        cpu1, wall1 = relay.cpu_s(), time.monotonic()
        t.join()
        rt.join()
        lat = reg.get("latencies_ms", [])
        row = {
            "label": label, "rate_target": rate, "seconds": seconds,
            "rate": out["sent"] / seconds, "cpu": (cpu1 - cpu0) /
            (wall1 - wall0), "rss_before_mb": rss0, "rss_peak_mb": peak,
            "reflection": out["received_bytes"] / max(out["sent_bytes"], 1),
            "registration_ms": lat, "registration_failed": reg.get("failed"),
        }
        print("flood %s at %d/s: %.0f/s sent, relay CPU %.0f %%, RSS %.0f -> "
              "%.0f MB, reflected %.2fx, registration median %s p90 %s max %s "
              "failed %s" % (label, rate, row["rate"], 100 * row["cpu"], rss0,
                             peak, row["reflection"], fmt(pct(lat, 50), "%.1f"),
                             fmt(pct(lat, 90), "%.1f"),
                             fmt(max(lat) if lat else None, "%.1f"),
                             row["registration_failed"]), file=sys.stderr)
        return row
    finally:
        relay.stop()


# --- 2. call setup with and without Retry -------------------------------

def setup_case(build, tmp, sl, label, retry, runs):
    relay = Relay(build, tmp, ["--retry", retry])
    args = argparse.Namespace(wzp=os.path.join(build, "tools", "wzp"))
    reg, setup, failed = [], [], 0
    try:
        time.sleep(0.3)
        for i in range(runs):
            r = sl.one_run(args, tmp, relay.addr, relay.fp,
                           "%s-%d" % (retry, i))
            for w in "ab":
                if r[w] and r[w].get("registered_ms") is not None:
                    reg.append(r[w]["registered_ms"])
            a = r["a"]
            if not r["failed"] and a.get("placed_ms") is not None:
                setup.append(a["active_ms"] - a["placed_ms"])
            failed += bool(r["failed"])
    finally:
        relay.stop()
    print("setup %s: registration median %s p90 %s; call setup median %s "
          "p90 %s; failed %d" % (label, fmt(pct(reg, 50)), fmt(pct(reg, 90)),
                                 fmt(pct(setup, 50)), fmt(pct(setup, 90)),
                                 failed), file=sys.stderr)
    return {"label": label, "retry": retry, "runs": runs,
            "registration_ms": reg, "setup_ms": setup, "failed": failed}


# --- 3. callgrind -------------------------------------------------------

def callgrind_total(build, tmp, relay_args, action, counter):
    """Instructions the whole relay process ran, and @counter (a metric)
    at the end: the relay under callgrind is slow, so what it processed is
    counted, not what was sent."""
    out = os.path.join(tmp, "cg-%d.out" % time.monotonic_ns())
    relay = Relay(build, tmp, relay_args, prefix=[
        "valgrind", "--tool=callgrind", "--callgrind-out-file=" + out])
    try:
        action(relay)
        time.sleep(1)
        count = relay.metrics().get(counter, 0) if counter else 0
    finally:
        relay.stop()
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1]), count
    raise RuntimeError("no totals in " + out)


def callgrind_costs(build, tmp):
    """Per event: (total - total of an idle run) / events processed."""
    def idle(relay):
        time.sleep(1)

    def flood(rate, seconds):
        return lambda relay: fault(build, "flood", "--relay", relay.addr,
                                   "--rate", rate, "--duration", seconds,
                                   "--sources", 16)

    def register(relay):
        fault(build, "register", "--relay", relay.addr, "--fingerprint",
              relay.fp, "--count", 20, "--timeout-ms", 30000)

    def per_event(args, action, counter):
        base, _ = callgrind_total(build, tmp, args, idle, None)
        total, n = callgrind_total(build, tmp, args, action, counter)
        # The idle run's scrape is not in base: it costs little next to
        # the events, and both runs made one.
        return (total - base) / max(n, 1), n

    rows = {}
    rows["retry_per_initial"], rows["retries"] = per_event(
        ["--retry", "always"], flood(1000, 3), "wzp_relay_retries_sent_total")
    rows["handshake_per_initial"], rows["handshakes"] = per_event(
        UNPROTECTED, flood(100, 5), "wzp_relay_udp_receive_packets_total")
    rows["registration_never"], rows["registrations_never"] = per_event(
        ["--retry", "never"], register, "wzp_relay_registrations_total")
    rows["registration_always"], rows["registrations_always"] = per_event(
        ["--retry", "always"], register, "wzp_relay_registrations_total")
    print("callgrind: %s" % rows, file=sys.stderr)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    prereqs.require("bench-relay-flood", build)
    seconds = 4 if args.quick else 8
    runs = 10 if args.quick else 30
    sl = load_setup_loss()
    tmp = tempfile.mkdtemp(prefix="wzp-bench-flood-")
    floods = [
        flood_case(build, tmp, "defaults (retry=auto)", [], 20000, seconds),
        flood_case(build, tmp, "defaults (retry=auto)", [], 50000, seconds),
        flood_case(build, tmp, "no protection (before)", UNPROTECTED, 5000,
                   3),
    ]
    setups = [setup_case(build, tmp, sl, "retry=never", "never", runs),
              setup_case(build, tmp, sl, "retry=auto (default, no load)",
                         "auto", runs),
              setup_case(build, tmp, sl, "retry=always", "always", runs)]
    costs = callgrind_costs(build, tmp) if args.callgrind else None

    lines = [
        "### Half-open handshake flood", "",
        "Forged client Initials (fresh connection ID each, never continued) "
        "from 64 source addresses on loopback, while a real client registers "
        "every 250 ms.  CPU is the relay's share of one core during the "
        "flood; *reflected* is what the relay sent back to the flood's "
        "sources, relative to what it received.", "",
        "| relay | flood target | sent | relay CPU | RSS before → peak | "
        "reflected | registration median | p90 | max | failed |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for r in floods:
        lat = r["registration_ms"]
        lines.append("| %s | %d/s × %d s | %.0f/s | %.0f %% | %.0f → %.0f MB "
                     "| %.2f× | %s ms | %s ms | %s ms | %s |" % (
                         r["label"], r["rate_target"], r["seconds"], r["rate"],
                         100 * r["cpu"], r["rss_before_mb"], r["rss_peak_mb"],
                         r["reflection"], fmt(pct(lat, 50), "%.1f"),
                         fmt(pct(lat, 90), "%.1f"),
                         fmt(max(lat) if lat else None, "%.1f"),
                         r["registration_failed"]))
    lines += [
        "", "### Call setup with and without the Retry path", "",
        "Two `wzp call` parties through the relay on loopback "
        "(bench/bench-setup-loss.py's runner, no loss), %d runs each.  "
        "Registration: start → registered (A and B pooled); call setup: "
        "offer sent → active." % runs, "",
        "| relay | registration median | p90 | call setup median | p90 | "
        "failed |", "|---|---|---|---|---|---|"]
    for r in setups:
        lines.append("| %s | %s ms | %s ms | %s ms | %s ms | %d / %d |" % (
            r["label"], fmt(pct(r["registration_ms"], 50), "%.1f"),
            fmt(pct(r["registration_ms"], 90), "%.1f"),
            fmt(pct(r["setup_ms"], 50), "%.1f"),
            fmt(pct(r["setup_ms"], 90), "%.1f"), r["failed"], r["runs"]))
    if costs:
        lines += [
            "", "### Relay CPU per event (callgrind, instructions)", "",
            "| event | instructions |", "|---|---|",
            "| an Initial answered with a Retry (retry=always; %d Retries) "
            "| %.0f |" % (costs["retries"], costs["retry_per_initial"]),
            "| an Initial that becomes a half-open handshake (retry=never; "
            "%d packets) | %.0f |" % (costs["handshakes"],
                                      costs["handshake_per_initial"]),
            "| a registration, retry=never | %.0f |"
            % costs["registration_never"],
            "| a registration, retry=always | %.0f |"
            % costs["registration_always"]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"floods": floods, "setups": setups,
                       "callgrind": costs}, f, indent=1)


if __name__ == "__main__":
    main()
