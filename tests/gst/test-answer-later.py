#!/usr/bin/env python3
"""The Python example examples/answer-later.py answers a `wzp call` 3 s
after it rang, from its own GLib main loop, while the call rings (no
relay loss, no error on either side); the call then carries media.

Exit 77 (meson: skipped) without PyGObject's Gst.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("WZP_BUILD_ROOT", "build")
SRC = os.environ.get("WZP_SOURCE_ROOT", ".")
TOOLS = os.path.join(BUILD, "tools")
FP = re.compile(r"(?:[0-9a-f]{4}:){7}[0-9a-f]{4}")

try:
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst  # noqa: F401
except (ImportError, ValueError):
    sys.exit(77)


def keygen(path):
    out = subprocess.run([os.path.join(TOOLS, "wzp"), "keygen", path],
                         capture_output=True, text=True, check=True).stdout
    return FP.search(out).group(0)


with tempfile.TemporaryDirectory() as tmp:
    rkey, akey, bkey = (os.path.join(tmp, n) for n in ("r.key", "a.key",
                                                        "b.key"))
    keygen(rkey)
    keygen(akey)
    bfp = keygen(bkey)
    relay = subprocess.Popen([os.path.join(TOOLS, "wzp-relay"), "--listen",
                              "127.0.0.1:0", "--probe-listen", "none",
                              "--identity", rkey], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    m = re.search(r"fingerprint (\S+) listening on (\S+)",
                  relay.stdout.readline())
    rfp, addr = m.group(1), m.group(2)
    app = subprocess.Popen([sys.executable,
                            os.path.join(SRC, "examples", "answer-later.py"),
                            "--relay", addr, "--identity", bkey,
                            "--relay-fingerprint", rfp, "--answer-after", "3",
                            "--once", "--record",
                            os.path.join(tmp, "call.ogg")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        line = app.stdout.readline()
        if "waiting for calls" not in line:
            sys.exit("example did not start: %r %s" % (line, app.stderr.read()))
        t0 = time.monotonic()
        caller = subprocess.run([os.path.join(TOOLS, "wzp"), "call", "-r",
                                 addr, "-i", akey, "--relay-fingerprint", rfp,
                                 "-p", bfp, "--hangup-after", "2", "-t", "20"],
                                capture_output=True, text=True, timeout=60)
        out, err = app.communicate(timeout=20)
        out = line + out
        print(out)
        rep = json.loads([l for l in caller.stdout.splitlines()
                          if l.startswith("{")][-1])
        print("caller: exit %d, active after %.0f ms, %d frames received" % (
            caller.returncode, rep["active_ms"] or -1, rep["frames_received"]))
        if caller.returncode != 0 or rep["state"] != "ended":
            sys.exit("the call failed: %s\n%s" % (rep, caller.stderr))
        if rep["active_ms"] < 2900:
            sys.exit("answered after %.0f ms, not after 3 s" % rep["active_ms"])
        if rep["frames_received"] < 40:
            sys.exit("no media from the example: %s" % rep)
        if not re.search(r"^answered call \S+: ok$", out, re.M):
            sys.exit("the example did not answer:\n" + out + err)
        if "relay: lost" in out or "error" in out:
            sys.exit("trouble while ringing:\n" + out + err)
        if os.path.getsize(os.path.join(tmp, "call.ogg")) < 1000:
            sys.exit("nothing recorded")
    finally:
        for p in (app, relay):
            if p.poll() is None:
                p.kill()
                p.wait()
