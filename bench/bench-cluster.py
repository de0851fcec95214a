#!/usr/bin/python3
"""Relay cluster: what a call costs across two nodes compared with one.

    sudo python3 bench/bench-cluster.py [--quick] [-n RUNS]
                                        [--markdown FILE] [--json FILE]

1. Setup on the NAT lab (20 ms one way on every link: RTT 40 ms): two
   wzp-relay nodes in the lab's relay namespace joined by a redis-server
   (a unix socket, so it serves every namespace), `wzp call` parties A and
   B behind "home" NATs, relay-only (the direct race is the same either
   way).  Same node: both at node 1.  Cross-node: A (the caller) at node 1,
   B at node 2, where the call lives; A opens a media leg to node 2 when
   the call rings.  B answers at once, or 1 s after it rings (a person).
   T0 is A's offer (at once) or B's answer (after 1 s); times are
   CLOCK_MONOTONIC stamps of both processes (one host).
2. Presence and the bus, on loopback, during the call-rate run: the round
   trip of a Redis command as the relays see it, the time an envelope
   takes through the bus, and Redis's own CPU per command (INFO
   commandstats): a presence lookup is one GET, a home claim one EVAL, an
   envelope one XADD and a share of an XREAD.
3. Calls per second set up by bench/wzp-callgen (16 caller/callee pairs,
   each calling again as soon as its last call ended) within one node and
   across two, both nodes and Redis on this machine.

Prints Markdown tables (--markdown writes them, --json the numbers), as
bench/run-all.sh's `run` expects.  Needs root (the NAT lab).
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "nat"))
sys.path.insert(0, os.path.join(TOP, "bench"))

import prereqs  # noqa: E402

DELAY_MS = 20
RTT_MS = 2 * DELAY_MS
BANNER = re.compile(r"listening on (\S+) \(probe")
BENCH_LIMITS = ["--max-registrations-per-source", "100000",
                "--max-connections-per-source", "100000",
                "--max-half-open-per-source", "1000", "--retry", "never",
                "--message-rate", "100000", "--message-burst", "100000"]


def start_redis(tmp):
    sock = os.path.join(tmp, "redis.sock")
    log = open(os.path.join(tmp, "redis.log"), "w")
    p = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                          "--unixsocketperm", "777", "--save", "",
                          "--appendonly", "no", "--dir", tmp],
                         stdout=log, stderr=log, start_new_session=True)
    log.close()
    for _ in range(250):
        if os.path.exists(sock):
            return p, sock
        time.sleep(0.02)
    raise RuntimeError("redis-server did not start")


def relay_argv(build, tmp, name, listen, probe, sock, extra=()):
    return [os.path.join(build, "tools", "wzp-relay"), "--listen", listen,
            "--probe-listen", probe, "--identity",
            os.path.join(tmp, "relay-%s.key" % name), "--redis",
            "unix:" + sock, "--debug", "wzprelay:3"] + list(extra)


def wait_banner(p, what):
    line = p.stdout.readline()
    m = BANNER.search(line)
    if m is None:
        raise RuntimeError("%s did not start: %r" % (what, line))
    return m.group(1)


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def keygen(build, path):
    r = subprocess.run([os.path.join(build, "tools", "wzp"), "keygen", path],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip().split()[-1]


# --- 1. setup on the NAT lab ----------------------------------------------

def lab_run(build, tmp, cross, answer_delay_ms):
    from natlab import NatLab
    lab = NatLab("home", "home", delay_ms=DELAY_MS)
    lab.up()
    procs = []
    try:
        redis, sock = start_redis(tmp)
        procs.append(redis)
        relays = []
        for i, port in enumerate((4433, 4443)):
            p = lab.popen("relay", relay_argv(
                build, tmp, str(i), "%s:%d" % (lab.relay_addr, port),
                "%s:%d" % (lab.relay_addr2, port), sock),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                start_new_session=True)
            procs.append(p)
            relays.append(wait_banner(p, "wzp-relay %d" % i))
        time.sleep(1.2)        # both nodes announced and listed
        fpb = keygen(build, os.path.join(tmp, "b.key"))
        keygen(build, os.path.join(tmp, "a.key"))
        wzp = os.path.join(build, "tools", "wzp")
        common = ["--path-policy", "relay-only", "--relay-order", "listed"]
        b_argv = [wzp, "call", "-r", relays[1 if cross else 0], "-i",
                  os.path.join(tmp, "b.key"), "--duration", "2"] + common
        if answer_delay_ms:
            b_argv += ["--answer-delay", str(answer_delay_ms)]
        b = lab.popen("b", b_argv, stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, text=True)
        procs.append(b)
        time.sleep(0.8)        # B registered (4 RTT)
        a = lab.popen("a", [wzp, "call", "-r", relays[0], "-i",
                            os.path.join(tmp, "a.key"), "-p", fpb,
                            "--hangup-after", "2", "--timeout", "20"] + common,
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                      text=True)
        procs.append(a)
        out_a, _ = a.communicate(timeout=40)
        out_b, _ = b.communicate(timeout=20)
        ra = json.loads([l for l in out_a.splitlines() if l.startswith("{")][-1])
        rb = json.loads([l for l in out_b.splitlines() if l.startswith("{")][-1])
    finally:
        stop(procs)
        lab.down()
    if ra["active_mono_ms"] is None or rb["active_mono_ms"] is None:
        return None
    offer = ra["start_mono_us"] / 1000.0 + ra["placed_ms"]
    t0 = rb["answered_mono_ms"] if answer_delay_ms else offer
    return {
        "setup": ra["active_mono_ms"] - t0,
        "audio_a": ra["active_mono_ms"] + ra["first_media_ms"] - t0,
        "audio_b": rb["active_mono_ms"] + rb["first_media_ms"] - t0,
    }


def lab_part(build, runs):
    rows = [("same node, answered at once", False, 0),
            ("across two nodes, answered at once", True, 0),
            ("same node, answered after 1 s", False, 1000),
            ("across two nodes, answered after 1 s", True, 1000)]
    out = {}
    for name, cross, delay in rows:
        res = []
        for _ in range(runs):
            tmp = tempfile.mkdtemp(prefix="wzp-bench-cluster-")
            os.chmod(tmp, 0o755)
            try:
                r = lab_run(build, tmp, cross, delay)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            if r:
                res.append(r)
        out[name] = res
        print("%s: %d runs" % (name, len(res)), file=sys.stderr)
    return out


# --- 2 and 3. loopback: call rate, presence and bus -------------------------

def commandstats(sock):
    r = subprocess.run(["redis-cli", "-s", sock, "INFO", "commandstats"],
                       capture_output=True, text=True, timeout=10)
    stats = {}
    for line in r.stdout.splitlines():
        m = re.match(r"cmdstat_(\w+):calls=(\d+),usec=(\d+),usec_per_call="
                     r"([\d.]+)", line)
        if m:
            stats[m.group(1)] = dict(calls=int(m.group(2)),
                                     usec=int(m.group(3)),
                                     per_call=float(m.group(4)))
    return stats


def metrics(addr):
    import urllib.request
    with urllib.request.urlopen("http://%s/metrics" % addr, timeout=5) as r:
        out = {}
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out


def loopback_part(build, pairs, warmup, duration):
    tmp = tempfile.mkdtemp(prefix="wzp-bench-cluster-")
    procs = []
    try:
        redis, sock = start_redis(tmp)
        procs.append(redis)
        relays, maddrs = [], []
        for i in range(2):
            p = subprocess.Popen(relay_argv(
                build, tmp, str(i), "127.0.0.1:0", "none", sock,
                BENCH_LIMITS + ["--metrics", "127.0.0.1:0"]),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                start_new_session=True)
            procs.append(p)
            line = p.stdout.readline()
            relays.append(BANNER.search(line).group(1))
            maddrs.append(re.search(r"metrics http://(\S+)/metrics",
                                    line).group(1))
        time.sleep(1.5)
        gen = os.path.join(build, "bench", "wzp-callgen")
        rates = {}
        for name, callee in (("within one node", relays[0]),
                             ("across two nodes", relays[1])):
            before = commandstats(sock)
            m0 = metrics(maddrs[0])
            r = subprocess.run([gen, "--relay", relays[0], "--callee-relay",
                                callee, "--pairs", str(pairs), "--warmup",
                                str(warmup), "--duration", str(duration)],
                               capture_output=True, text=True,
                               timeout=warmup + duration + 120)
            line = [l for l in r.stdout.splitlines() if l.startswith("{")]
            if not line:
                raise RuntimeError("wzp-callgen failed: %s" % r.stderr[-2000:])
            res = json.loads(line[-1])
            after = commandstats(sock)
            m1 = metrics(maddrs[0])
            res["redis"] = {k: dict(calls=v["calls"] - before.get(k, {}).get(
                "calls", 0), usec=v["usec"] - before.get(k, {}).get("usec", 0))
                for k, v in after.items()}
            res["lookups"] = (m1["wzp_relay_cluster_presence_lookups_total"] -
                              m0["wzp_relay_cluster_presence_lookups_total"])
            res["redis_rtt_ms"] = m1["wzp_relay_cluster_redis_rtt_seconds"] * 1e3
            res["bus_ms"] = m1["wzp_relay_cluster_bus_latency_seconds"] * 1e3
            rates[name] = res
            print("%s: %s" % (name, line[-1]), file=sys.stderr)
        return rates
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)


# --- output ---------------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else None


def fmt_ms(v):
    return "–" if v is None else "%.0f ms (%.1f RTT)" % (v, v / RTT_MS)


def markdown(lab, rates):
    out = []
    out.append("Setup on the NAT lab (home NATs, 20 ms one way: RTT 40 ms; "
               "relay-only; median of the runs):\n")
    out.append("| | runs | T0 → A active | T0 → first audio at A | T0 → "
               "first audio at B |")
    out.append("|---|---:|---:|---:|---:|")
    for name, res in lab.items():
        t0 = "offer" if "at once" in name else "answer"
        out.append("| %s (T0 = %s) | %d | %s | %s | %s |" % (
            name, t0, len(res), fmt_ms(med([r["setup"] for r in res])),
            fmt_ms(med([r["audio_a"] for r in res])),
            fmt_ms(med([r["audio_b"] for r in res]))))
    for delay in ("answered at once", "answered after 1 s"):
        same = lab.get("same node, " + delay, [])
        cross = lab.get("across two nodes, " + delay, [])
        if same and cross:
            d = (med([r["audio_a"] for r in cross]) -
                 med([r["audio_a"] for r in same]))
            out.append("\nAcross two nodes, %s: first audio at A %+.0f ms "
                       "(%+.1f RTT) against one node." % (delay, d,
                                                           d / RTT_MS))
    out.append("\nCalls set up per second on this machine (both nodes, "
               "Redis and the load on 2 cores; 16 caller/callee pairs, each "
               "calling again as soon as its last call ended; setup = call "
               "→ call-setup at the caller):\n")
    out.append("| | calls/s | setup p50 | setup p99 | errors |")
    out.append("|---|---:|---:|---:|---:|")
    for name, r in rates.items():
        out.append("| %s | %.0f | %.1f ms | %.1f ms | %d |" % (
            name, r["calls_per_s"], r["setup_ms"]["p50"],
            r["setup_ms"]["p99"], r["errors"]))
    cross = rates.get("across two nodes")
    if cross:
        calls = max(cross["calls"], 1)
        out.append("\nPresence and the bus during the run across two nodes "
                   "(Redis on a unix socket on this machine):\n")
        out.append("| | value |")
        out.append("|---|---:|")
        out.append("| Redis command round trip seen by a node (smoothed) | "
                   "%.3f ms |" % cross["redis_rtt_ms"])
        out.append("| an envelope through the bus (XADD → XREAD, smoothed) "
                   "| %.3f ms |" % cross["bus_ms"])
        out.append("| presence lookups per call (caller's node) | %.2f |" %
                   (cross["lookups"] / calls))
        for cmd, what in (("get", "GET (a presence lookup)"),
                          ("eval", "EVAL (claims, conditional writes)"),
                          ("set", "SET (presence, node records)"),
                          ("xadd", "XADD (an envelope)"),
                          ("xread", "XREAD (a node reading its stream)")):
            s = cross["redis"].get(cmd)
            if s and s["calls"]:
                out.append("| Redis CPU per %s | %.2f µs (%.1f per call) |" % (
                    what, s["usec"] / s["calls"], s["calls"] / calls))
        total = sum(v["usec"] for v in cross["redis"].values())
        out.append("| Redis CPU per call set up across nodes, all commands "
                   "| %.0f µs |" % (total / calls))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=prereqs.default_build())
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-n", "--runs", type=int)
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    prereqs.require("bench-cluster", build=a.build)
    runs = a.runs or (3 if a.quick else 8)
    rates = loopback_part(a.build, 16, 1 if a.quick else 2,
                          3 if a.quick else 10)
    lab = lab_part(a.build, runs)
    text = markdown(lab, rates)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"lab": lab, "rates": rates}, f)
    complete = all(lab.values()) and all(r["calls"] > 0 for r in
                                         rates.values())
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
