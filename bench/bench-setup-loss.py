#!/usr/bin/python3
"""Registration and call setup through a relay under random packet loss.

  sudo bench/bench-setup-loss.py [--quick] [-n RUNS] [--loss 0,5,10,20]
                                 [--build DIR] [--markdown FILE] [--json FILE]

A wzp-relay on loopback; nftables drops N % of the UDP packets sent to
and from the relay's two ports (listen and probe), chosen at random per
packet (`numgen random`), from before the first packet of a run.  Each run
uses two fresh identities: B (`wzp call`, waits and answers) starts, then
A (`wzp call -p B`) once B says it is waiting; A hangs up 1 s after the
call is active.  Both use path-policy=relay-only, so every packet of the
call crosses the lossy relay ports.

Per loss level, from the parties' JSON reports:
  registration  start -> registered with the relay (A and B pooled): the
                QUIC handshake plus the signed registration
  call setup    A's offer sent -> A active (offer, ringing, answer and
                call-setup through the relay)
  failed        runs in which a party was not active within 15 s, or
                ended with an error

Prints a Markdown table (median and p90 in ms).  Not a test: it needs root
(nftables) and takes ~2 s per run.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import prereqs

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
TABLE = "wzp_bench_setup_loss_%d" % os.getpid()
TIMEOUT_S = 15


def free_udp_port_pair():
    """A port P with P and P+1 free (listen and probe)."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
        finally:
            s.close()
            t.close()
    raise RuntimeError("no free UDP port pair")


def nft_drop(ports, percent):
    nft_clear()
    if percent <= 0:
        return
    rules = "".join(
        "    udp %s %d numgen random mod 100 < %d counter drop\n"
        % (d, p, percent) for p in ports for d in ("dport", "sport"))
    subprocess.run(["nft", "-f", "-"], check=True, text=True, input="""
table inet %s {
  chain out {
    type filter hook output priority 0;
%s  }
}
""" % (TABLE, rules))


def nft_dropped():
    txt = subprocess.run(["nft", "list", "table", "inet", TABLE],
                         capture_output=True, text=True).stdout
    return sum(int(n) for n in re.findall(r"packets (\d+)", txt))


def nft_clear():
    subprocess.run(["nft", "delete", "table", "inet", TABLE],
                   capture_output=True)


def keygen(wzp, path):
    r = subprocess.run([wzp, "keygen", path], capture_output=True, text=True,
                       check=True)
    return r.stdout.strip().split()[-1]


def wait_for(path, pattern, proc, timeout):
    rx = re.compile(pattern, re.M)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, errors="replace") as f:
            if rx.search(f.read()):
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def report(proc, timeout):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    lines = [l for l in (out or "").splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def one_run(args, tmp, relay, relay_fp, tag):
    keys = {w: os.path.join(tmp, "%s-%s.key" % (w, tag)) for w in "ab"}
    fps = {w: keygen(args.wzp, k) for w, k in keys.items()}
    common = ["-r", relay, "--relay-fingerprint", relay_fp,
              "--path-policy", "relay-only"]
    logs = {w: os.path.join(tmp, "%s-%s.log" % (w, tag)) for w in "ab"}
    procs = {}
    with open(logs["b"], "w") as err:
        procs["b"] = subprocess.Popen(
            [args.wzp, "call", "-i", keys["b"]] + common,
            stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        if not wait_for(logs["b"], r"^wzp call: waiting", procs["b"],
                        TIMEOUT_S):
            procs["b"].send_signal(signal.SIGTERM)
            return {"failed": "B not registered within %d s" % TIMEOUT_S,
                    "b": report(procs["b"], 5), "a": None}
        with open(logs["a"], "w") as err:
            procs["a"] = subprocess.Popen(
                [args.wzp, "call", "-i", keys["a"], "-p", fps["b"],
                 "--hangup-after", "1", "--timeout", str(TIMEOUT_S)] + common,
                stdout=subprocess.PIPE, stderr=err, text=True)
        a = report(procs["a"], TIMEOUT_S + 10)
        b = report(procs["b"], 10)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    failed = None
    for n, r in (("A", a), ("B", b)):
        if r is None:
            failed = "%s printed no report" % n
        elif r.get("active_ms") is None:
            failed = "%s never active (%s)" % (n, r.get("error"))
        elif r.get("error"):
            failed = "%s: %s" % (n, r["error"])
    return {"failed": failed, "a": a, "b": b}


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fmt(v):
    return "—" if v is None else "%.0f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 runs per level")
    ap.add_argument("-n", "--runs", type=int, default=None)
    ap.add_argument("--loss", default="0,5,10,20")
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    args = ap.parse_args()
    prereqs.require("bench-setup-loss", args.build)
    runs = args.runs or (10 if args.quick else 30)
    if os.geteuid() != 0 or not shutil.which("nft"):
        sys.exit("bench-setup-loss: needs root and nft (package nftables)")
    args.wzp = os.path.join(args.build, "tools", "wzp")
    relay_bin = os.path.join(args.build, "tools", "wzp-relay")
    for p in (args.wzp, relay_bin):
        if not os.access(p, os.X_OK):
            sys.exit("bench-setup-loss: %s is missing: build first" % p)

    results = []
    tmp = tempfile.mkdtemp(prefix="wzp-setup-loss-")
    try:
        for loss in [int(x) for x in args.loss.split(",")]:
            port = free_udp_port_pair()
            relay = "127.0.0.1:%d" % port
            relay_key = os.path.join(tmp, "relay-%d.key" % loss)
            relay_fp = keygen(args.wzp, relay_key)
            nft_drop((port, port + 1), loss)
            relay_log = open(os.path.join(tmp, "relay-%d.log" % loss), "w")
            rp = subprocess.Popen(
                [relay_bin, "--listen", relay, "--identity", relay_key],
                stdout=relay_log, stderr=subprocess.STDOUT)
            time.sleep(0.3)
            reg, setup, failures = [], [], []
            try:
                for i in range(runs):
                    r = one_run(args, tmp, relay, relay_fp, "%d-%d" % (loss, i))
                    for w in "ab":
                        if r[w] and r[w].get("registered_ms") is not None:
                            reg.append(r[w]["registered_ms"])
                    a = r["a"]
                    if (not r["failed"] and a.get("placed_ms") is not None):
                        setup.append(a["active_ms"] - a["placed_ms"])
                    if r["failed"]:
                        failures.append(r["failed"])
                        print("  loss %d%% run %d: FAILED: %s" % (
                            loss, i, r["failed"]), file=sys.stderr)
                dropped = nft_dropped()
            finally:
                rp.kill()
                rp.wait()
                relay_log.close()
                nft_clear()
            row = {"loss": loss, "runs": runs, "failed": len(failures),
                   "failures": failures, "dropped_packets": dropped,
                   "registration_ms": reg, "setup_ms": setup}
            results.append(row)
            print("loss %2d%%: registration median %s p90 %s max %s; "
                  "setup median %s p90 %s max %s; failed %d/%d" % (
                      loss, fmt(pct(reg, 50)), fmt(pct(reg, 90)),
                      fmt(max(reg) if reg else None), fmt(pct(setup, 50)),
                      fmt(pct(setup, 90)),
                      fmt(max(setup) if setup else None), len(failures),
                      runs), file=sys.stderr)
    finally:
        nft_clear()
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        "%d runs per loss level; loopback, N %% of the packets to and from "
        "the relay's ports dropped from the start; path-policy=relay-only."
        % runs, "",
        "| loss | registration median | p90 | max | call setup median | p90 "
        "| max | failed runs |",
        "|---|---|---|---|---|---|---|---|"]
    for r in results:
        reg, setup = r["registration_ms"], r["setup_ms"]
        lines.append("| %d %% | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms "
                     "| %d / %d |" % (
                         r["loss"], fmt(pct(reg, 50)), fmt(pct(reg, 90)),
                         fmt(max(reg) if reg else None), fmt(pct(setup, 50)),
                         fmt(pct(setup, 90)),
                         fmt(max(setup) if setup else None), r["failed"],
                         r["runs"]))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
