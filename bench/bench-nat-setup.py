#!/usr/bin/env python3
"""Call setup on the NAT lab: how long from the callee answering to audio,
and to media on the direct path; and the gap when the direct path dies.

    sudo python3 bench/bench-nat-setup.py [-n RUNS] [--quick] [--write]

For home<->home and same-LAN, each run builds a fresh lab (20 ms one way on
every link, so RTT = 40 ms), starts wzp-relay and two `wzp call` parties
(B answers, A calls), and reads their JSON reports.  Both run on this host,
so their CLOCK_MONOTONIC `active_mono_ms` stamps are comparable.  T0 is the
callee's "active" (the relay sends call-setup to both when B answers,
timed to arrive together).  For home<->home the run then blocks the direct
path mid-call and measures the media gap at each end.

Prints a Markdown table; --write puts it into docs/BENCHMARKS.md, section
"Call setup on the NAT lab", with the command and the date.  Not a test:
it needs root and takes ~10 s per run.
"""

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "nat"))

import natlab  # noqa: E402
from natlab import NatLab  # noqa: E402
from callharness import CallHarness  # noqa: E402
import prereqs  # noqa: E402

DELAY_MS = 20
RTT_MS = 2 * DELAY_MS
# The original: a direct dial raced a relay dial, media waited for up to
# 1 s of grace plus the peer's report relayed back (>= 1 RTT), and nothing
# brought a dead direct path back to the relay.
ORIGINAL_FIRST_AUDIO_MS = 1000 + RTT_MS
SECTION = "## Call setup on the NAT lab"
NOTES = """\
How to read it:

* "answer" is the callee's *active*: the relay sends call-setup to both
  parties when the callee answers, timed so both get it together (the
  last row shows they do, within a millisecond).  Times are
  CLOCK_MONOTONIC stamps of both `wzp call` processes (one host, so one
  clock across the namespaces).
* First audio: media starts on the relay at once.  `wzp call` sends its
  first frame at active, then A -> relay -> B is 40 ms: 1 RTT, the relay
  detour itself.
* Direct: both race at once (the relay-timed start), the dialer's QUIC
  handshake takes 1 RTT, its path-ok reaches the acceptor half an RTT
  later (the acceptor switches: ~1.8 RTT) and the ack comes back (the
  dialer switches: ~2.3 RTT).  Which end is the dialer depends on the
  fingerprints, hence the ranges.  The first direct frame follows by
  about one frame interval.
* Same LAN: the callee dials the caller's host candidates when it answers
  and sends its signed answer there (the early start, docs/PATH.md): both
  are active, on the LAN, before the relay's call-setup.  "answer" is
  then the callee's active on the LAN, and the direct path is there from
  the first frame.
* Failover: `block_direct()` drops all A<->B UDP in the internet; each
  side's datagrams go unacknowledged: after ~100 ms in doubt (frames on
  both paths), after ~300 ms on the relay.  The gap is the doubt time plus
  the relay trip's extra delay (bench-failover.py has more).  After
  `unblock_direct()` the next probe answered re-agrees the path within
  ~2-3 RTT.
* The original raced a direct dial against a relay dial and started media
  only after up to 1 s of grace plus the peer's relayed report (>= 1 RTT),
  i.e. >= 26 RTT here, and had no way back to the relay when the direct
  path died.
"""


def one_run(kinds, failover, workdir):
    with NatLab(*kinds, delay_ms=DELAY_MS) as lab:
        h = CallHarness(lab, workdir, debug=None)
        try:
            h.start_relay()
            h.start_callee()
            h.start_caller(hangup_after=6 if failover else 3)
            h.wait_stderr("a", r"^wzp call: path direct", timeout=8)
            h.wait_stderr("b", r"^wzp call: path direct", timeout=8)
            t_block = t_unblock = None
            if failover:
                time.sleep(1.0)
                t_block = time.monotonic() * 1000
                lab.block_direct()
                # The first "path relay" is the call's start.
                h.wait_stderr("a", r"^wzp call: path relay", count=2, timeout=4)
                h.wait_stderr("b", r"^wzp call: path relay", count=2, timeout=4)
                time.sleep(0.5)
                t_unblock = time.monotonic() * 1000
                lab.unblock_direct()
                h.wait_stderr("a", r"^wzp call: path direct", count=2, timeout=6)
                h.wait_stderr("b", r"^wzp call: path direct", count=2, timeout=6)
            a, b = h.finish()
        finally:
            h.stop()
    for n, r in (("A", a), ("B", b)):
        if r["state"] != "ended" or r["error"]:
            raise RuntimeError("%s: %s %s" % (n, r["state"], r["error"]))
    t0 = b["active_mono_ms"]
    m = {}
    for n, r in (("A", a), ("B", b)):
        base = r["active_mono_ms"] - t0
        m["audio_" + n] = base + r["first_media_ms"]
        m["direct_" + n] = base + r["direct_ms"]
        m["dmedia_" + n] = base + r["first_direct_media_ms"]
        if t_block is not None:
            start = r["active_mono_ms"]
            gaps = [g for at, g in r["gaps"]
                    if t_block - 100 <= start + at <= t_unblock]
            m["gap_" + n] = max(gaps, default=0)
            sw = [at for at, p, _ in r["paths"]
                  if p == "relay" and start + at >= t_block]
            m["detect_" + n] = start + sw[0] - t_block
            back = [at for at, p, _ in r["paths"]
                    if p == "direct" and start + at >= t_unblock]
            m["back_" + n] = start + back[0] - t_unblock
    m["skew"] = a["active_mono_ms"] - t0
    return m


ROWS = [
    ("audio", "answer → first audio (relay, or direct if sooner)"),
    ("direct", "answer → path direct (agreed)"),
    ("dmedia", "answer → first frame on the direct path"),
    ("detect", "failover: block → path relay (from the block)"),
    ("gap", "failover: longest media gap"),
    ("back", "unblock → path direct again"),
]


def fmt(values):
    values = [v for v in values if v is not None]
    if not values:
        return "–", "–"
    med = statistics.median(values)
    return ("%.0f (%.0f–%.0f)" % (med, min(values), max(values)),
            "%.1f" % (med / RTT_MS))


def table(results, runs):
    out = []
    out.append("| lab | measure | end | ms, median (min–max) | RTTs |")
    out.append("| --- | --- | --- | --- | --- |")
    for label, ms in results:
        for key, what in ROWS:
            for end in ("A", "B"):
                vals = [m.get(key + "_" + end) for m in ms]
                if all(v is None for v in vals):
                    continue
                v, rtts = fmt(vals)
                out.append("| %s | %s | %s | %s | %s |" % (
                    label, what, "caller" if end == "A" else "callee", v, rtts))
        skew = fmt([m["skew"] for m in ms])[0]
        out.append("| %s | caller active − callee active | | %s | |" % (label, skew))
    out.append("| original | answer → first audio (≥ 1 s grace + the peer's report) | both | "
               "≥ %d | ≥ %.0f |" % (ORIGINAL_FIRST_AUDIO_MS,
                                     ORIGINAL_FIRST_AUDIO_MS / RTT_MS))
    out.append("| original | failover when the direct path dies | both | "
               "none (media stops) | |")
    return "\n".join(out)


def write_doc(text, command, runs):
    path = os.path.join(TOP, "docs", "BENCHMARKS.md")
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    body = "%s\n\n%s\n\n```\n%s\n```\n\n%s\n\n%s\n" % (
        SECTION, "Measured %s on %s (%d CPUs), 20 ms one way on every link "
        "(RTT 40 ms), %d runs per lab (a fresh lab each run)." % (
            datetime.date.today().isoformat(), os.uname().nodename,
            os.cpu_count(), runs), command, text, NOTES)
    if SECTION in old:
        head, rest = old.split(SECTION, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
        new = head + body + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + body
    with open(path, "w") as f:
        f.write(new)
    print("wrote %s" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 runs")
    ap.add_argument("--write", action="store_true",
                    help="update docs/BENCHMARKS.md")
    args = ap.parse_args()
    prereqs.require("bench-nat-setup")
    if os.geteuid() != 0:
        print("the NAT lab needs root")
        return 77
    runs = 2 if args.quick else args.runs
    natlab.cleanup_all()
    results = []
    for label, kinds, failover in (("home↔home", ("home", "home"), True),
                                   ("same LAN", ("samelan", "samelan"), False)):
        ms = []
        for i in range(runs):
            workdir = tempfile.mkdtemp(prefix="wzp-bench-")
            try:
                m = one_run(kinds, failover, workdir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            print("%s run %d: %s" % (label, i + 1, ", ".join(
                "%s=%.0f" % (k, v) for k, v in sorted(m.items())
                if v is not None)), file=sys.stderr)
            ms.append(m)
        results.append((label, ms))
    text = table(results, runs)
    print(text)
    if args.write:
        cmd = "sudo python3 bench/bench-nat-setup.py " + " ".join(sys.argv[1:])
        write_doc(text, cmd.strip(), runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
