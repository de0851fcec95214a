#!/usr/bin/python3
"""The symmetric-NAT moonshot: how often does port spraying open home <-> symmetric?

  sudo bench/bench-symmetric-spray.py [--quick] [--trials N]
                                      [--spray N,N,...] [--build DIR]
                                      [--markdown FILE] [--json FILE]

On the NAT lab's home/symmetric topology (20 ms one way), two
wzp-path-probe processes race without a relay: B behind the symmetric NAT
(Linux masquerade random,fully-random: a new random port per destination)
dials A's public address; A, behind the home NAT (endpoint-independent
mapping, address-and-port-dependent filtering), accepts, and with --spray
N it also punches N random ports of B's public address during the 3 s
race (WzpPathConfig.spray_ports).  A hit on the port B's NAT gave its flow
to A opens A's NAT for B's Initials: the race succeeds.  With one socket
per side, B's NAT makes exactly one such port, so the expected success
rate is about N / 64512 (the NAT's port range).  0 is the control: it must
never succeed.

Prints one row per N: trials, direct, success rate, expected, median time
to direct.  Both processes are started together; each trial uses fresh
ports (the NATs' conntrack entries outlive a trial).  --quick: 5 trials
of 0, 16384 and 65536.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "nat"))
from natlab import NatLab, cleanup_all  # noqa: E402
sys.path.insert(0, HERE)
import prereqs  # noqa: E402

PORT_RANGE = 65536 - 1024
TOKEN = "00112233445566778899aabbccddeeff"


def trial(lab, probe, keys, fps, port, spray):
    a = lab.popen("a", [
        probe, "-b", "0.0.0.0:%d" % port, "-i", keys["a"], "-p", fps["b"],
        "--peer-reflexive", "%s:%d" % (lab.public_addr("b"), port),
        "-t", TOKEN, "--local-nat", "eim", "--peer-nat", "edm",
        "--spray", str(spray), "-d", "4", "--media-interval", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    b = lab.popen("b", [
        probe, "-b", "0.0.0.0:%d" % port, "-i", keys["b"], "-p", fps["a"],
        "-c", "%s:%d" % (lab.public_addr("a"), port), "-t", TOKEN,
        "--local-nat", "edm", "--peer-nat", "eim", "-d", "4",
        "--media-interval", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out_a, _ = a.communicate(timeout=20)
    out_b, _ = b.communicate(timeout=20)
    stats = {}
    for line in out_a.splitlines():
        if line.startswith("path="):
            stats = dict(kv.split("=", 1) for kv in line.split())
    m = re.search(r"t=(\d+)ms path=direct", out_b)
    return {"direct": b.returncode == 0, "ms": int(m.group(1)) if m else None,
            "sprayed": int(stats.get("sprayed", 0))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--trials", type=int)
    ap.add_argument("--spray")
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    prereqs.require("bench-symmetric-spray", a.build)
    a.trials = a.trials or (5 if a.quick else 10)
    a.spray = a.spray or ("0,16384,65536" if a.quick else
                          "0,4096,16384,65536")
    os.environ.setdefault("WZP_DELAYBRIDGE", os.path.join(
        a.build, "tests", "nat", "wzp-delaybridge"))
    probe = os.path.join(a.build, "tools", "wzp-path-probe")
    tool = os.path.join(a.build, "tools", "wzp")
    cleanup_all()
    work = tempfile.mkdtemp(prefix="wzp-bench-spray-")
    keys, fps = {}, {}
    for who in ("a", "b"):
        keys[who] = os.path.join(work, who + ".key")
        fps[who] = subprocess.run([tool, "keygen", keys[who]], check=True,
                                  capture_output=True, text=True
                                  ).stdout.split()[-1]
    rows = []
    port = 20000
    with NatLab("home", "symmetric", delay_ms=20) as lab:
        for n in [int(x) for x in a.spray.split(",")]:
            results = []
            for i in range(a.trials):
                port += 1
                results.append(trial(lab, probe, keys, fps, port, n))
                print("spray %d trial %d/%d: %s" % (
                    n, i + 1, a.trials, results[-1]), file=sys.stderr,
                    flush=True)
                time.sleep(0.2)
            ok = [r for r in results if r["direct"]]
            times = [r["ms"] for r in ok if r["ms"] is not None]
            rows.append((n, len(results), len(ok),
                         statistics.median(times) if times else None,
                         statistics.median(r["sprayed"] for r in results)))
    md = ["| punches to guessed ports per race | trials | direct | success "
          "| expected (N / 64512) | median time to direct | sprayed "
          "(median) |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, t, ok, ms, sprayed in rows:
        md.append("| %d | %d | %d | %.0f %% | %.1f %% | %s | %d |" % (
            n, t, ok, 100.0 * ok / t, 100.0 * min(1.0, n / PORT_RANGE),
            "%d ms" % ms if ms is not None else "none direct", sprayed))
    text = "\n".join(md)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"spray": n, "trials": t, "direct": ok,
                        "median_ms": ms, "sprayed_median": sprayed}
                       for n, t, ok, ms, sprayed in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
