#!/usr/bin/env python3
# `wzp call` as a user meets its failures: exit status and texts (the
# same the GStreamer elements post), and a JSON report whose "gaps" count
# silence still going on at the end, so an outage cannot hide there.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import json, os, re, signal, subprocess, sys, tempfile, time

TOOLS = sys.argv[1]
WZP = os.path.join(TOOLS, "wzp")
RELAY = os.path.join(TOOLS, "wzp-relay")
FP = re.compile(r"(?:[0-9a-f]{4}:){7}[0-9a-f]{4}")


def fail(msg, *procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
    sys.exit(msg)


def keygen(path):
    out = subprocess.run([WZP, "keygen", path], capture_output=True,
                         text=True, check=True).stdout
    return FP.search(out).group(0)


def call(args, timeout=20):
    p = subprocess.run([WZP, "call"] + args, capture_output=True, text=True,
                       timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, (json.loads(lines[-1]) if lines else None), p.stderr


def party(args):
    return subprocess.Popen([WZP, "call"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_line(p, pattern, timeout=10):
    end = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < end:
        line = p.stderr.readline()
        if rx.search(line):
            return
        if not line and p.poll() is not None:
            break
    fail("no %r from wzp call" % pattern, p)


with tempfile.TemporaryDirectory() as tmp:
    rkey, akey, bkey = (os.path.join(tmp, n) for n in ("r.key", "a.key",
                                                        "b.key"))
    keygen(rkey)
    afp = keygen(akey)
    bfp = keygen(bkey)
    relay = subprocess.Popen([RELAY, "--listen", "127.0.0.1:0",
                              "--probe-listen", "none", "--identity", rkey],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    m = re.search(r"fingerprint (\S+) listening on (\S+)",
                  relay.stdout.readline())
    if not m:
        fail("wzp-relay did not start", relay)
    rfp, addr = m.group(1), m.group(2)

    # Wrong relay identity: exit 3 within a second, both fingerprints.
    t0 = time.monotonic()
    rc, rep, err = call(["-r", addr, "-i", akey, "--relay-fingerprint", bfp,
                         "-p", bfp])
    took = time.monotonic() - t0
    if rc != 3 or rep is None or rfp not in rep["error"] or \
            bfp not in rep["error"] or rep["error"] not in err:
        fail("wrong relay identity: exit %d, report %s, stderr %s" % (
            rc, rep, err), relay)
    if took > 3:
        fail("wrong relay identity took %.1f s (a redial loop?)" % took, relay)
    print("wrong relay identity: exit 3 after %.2f s: %s" % (took,
                                                              rep["error"]))

    # Invalid settings: exit 2, no network needed.
    for bad in (["-p", "abc"], ["--relay-fingerprint", "xyz"]):
        rc, rep, err = call(["-r", addr, "-i", akey] + bad)
        if rc != 2 or "Invalid settings" not in err:
            fail("%s: exit %d, %s" % (bad, rc, err), relay)
    print("invalid settings: exit 2")

    # Nobody there: exit 1, "Could not reach the relay".
    rc, rep, err = call(["-r", "127.0.0.1:9", "-i", akey, "-p", bfp])
    if rc != 1 or "Could not reach the relay" not in (rep or {}).get(
            "error", ""):
        fail("unreachable relay: exit %d, %s" % (rc, rep), relay)
    print("unreachable relay: exit 1")

    # Trailing silence: A stops sending (SIGSTOP) and B hangs up 1.5 s
    # later; B's report shows that last gap.
    b = party(["-r", addr, "-i", bkey, "--relay-fingerprint", rfp])
    wait_line(b, r"^wzp call: waiting")
    a = party(["-r", addr, "-i", akey, "--relay-fingerprint", rfp, "-p", bfp,
               "--path-policy", "relay-only"])
    wait_line(a, r"^wzp call: active")
    time.sleep(1.0)
    a.send_signal(signal.SIGSTOP)
    time.sleep(1.5)
    b.send_signal(signal.SIGTERM)
    out, _ = b.communicate(timeout=10)
    a.send_signal(signal.SIGCONT)
    a.send_signal(signal.SIGTERM)
    a.communicate(timeout=10)
    rep = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    last = rep["gaps"][-1] if rep["gaps"] else None
    if rep["state"] != "ended" or rep["frames_received"] < 30 or \
            last is None or last[1] < 1300 or rep["max_gap_ms"] < 1300:
        fail("trailing silence not in the report: %s" % rep, relay)
    print("trailing gap: %s (max_gap_ms %d)" % (last, rep["max_gap_ms"]))

    # -t bounds the time to become active, not the call: with -t 1 an
    # active call goes on until it is hung up (it used to end at -t with
    # exit 0).
    b = party(["-r", addr, "-i", bkey])
    wait_line(b, r"^wzp call: waiting")
    t0 = time.monotonic()
    rc, rep, err = call(["-r", addr, "-i", akey, "-p", bfp, "-t", "1",
                         "--hangup-after", "3"])
    took = time.monotonic() - t0
    b.communicate(timeout=10)
    if rc != 0 or rep is None or rep["state"] != "ended" or \
            rep["end_ms"] < 2500 or took < 3:
        fail("-t 1 ended an active call: exit %d after %.1f s, %s" % (
            rc, took, rep), relay)
    print("-t 1: the active call lasted %d ms, exit 0" % rep["end_ms"])

    # Not active within -t (nobody at the relay's address: the relay
    # timeout would take 10 s): given up at 1 s, exit 1, said so.
    t0 = time.monotonic()
    rc, rep, err = call(["-r", "127.0.0.1:9", "-i", akey, "-p", bfp, "-t",
                         "1"])
    took = time.monotonic() - t0
    if rc != 1 or took > 5 or "not active within 1 s" not in (rep or {}).get(
            "error", ""):
        fail("-t 1 before active: exit %d after %.1f s, %s" % (rc, took, rep),
             relay)
    print("-t 1 before active: exit 1 after %.1f s: %s" % (took,
                                                           rep["error"]))

    relay.send_signal(signal.SIGTERM)
    relay.wait(timeout=10)
