#!/usr/bin/python3
"""Python places a call through a local relay with libwzp's introspection
data (`from gi.repository import Wzp`), no GStreamer.

A wzp-relay process and a `wzp call` process that answers; this process
calls it with Wzp.Call, sends 50 frames a second, reads the frames the
other side sends (with their bytes), checks the state changes, the path
and the statistics, hangs up, and checks the other side's report.  The
same calls as examples/place-call.py makes.

    test-gi-call.py BUILD_DIR

Needs /usr/bin/python3 with PyGObject, and the typelib in BUILD_DIR/lib
(GI_TYPELIB_PATH and LD_LIBRARY_PATH point there).
"""
import json
import os
import subprocess
import sys

import gi

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from wzpprocs import WzpProcs  # noqa: E402

gi.require_version("Wzp", "1.0")
from gi.repository import GLib, Wzp  # noqa: E402

TIMEOUT_S = 20


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def main():
    build = sys.argv[1]
    with WzpProcs(build) as w:
        address = w.start_relay()
        b_fp = w.keygen("b.key")
        callee = w.spawn([w.tool("wzp"), "call", "-r", address, "-i",
                          w.path("b.key")], stdout=subprocess.PIPE,
                         stderr=open(w.path("b.log"), "w"), text=True)
        # Registered, or the call would find it offline.
        w.wait_for_line(w.path("b.log"), r"^wzp call: waiting")
        return run_caller(w.tmp, address, b_fp, callee)


def run_caller(tmp, address, b_fp, callee):
    identity, created = Wzp.Identity.load_or_create(
        os.path.join(tmp, "a.key"))
    if not created or Wzp.fingerprint_normalize(
            identity.get_fingerprint()) != identity.get_fingerprint():
        fail("identity: created %r, fingerprint %s"
             % (created, identity.get_fingerprint()))

    loop = GLib.MainLoop()
    call = Wzp.Call.new(None, identity, address)
    call.props.peer = b_fp
    states, received, errors = [], [], []
    sent = [0]

    def on_frame(frame):
        received.append((frame.sender, frame.seq, bytes(frame.data),
                         frame.path))

    def send():
        ok = call.send_frame(sent[0] * 960, sent[0] == 0,
                             bytes([0x78]) + bytes(79))
        sent[0] += 1
        return ok and sent[0] < 100

    def on_state(c, state, reason):
        states.append(state)
        if state == Wzp.CallState.ACTIVE:
            GLib.timeout_add(20, send)
            GLib.timeout_add(2500, lambda: (call.hangup(), False)[1])
        elif state in (Wzp.CallState.ENDED, Wzp.CallState.FAILED):
            if reason:
                errors.append(reason)
            GLib.timeout_add(300, loop.quit)

    call.connect("state-changed", on_state)
    call.set_frame_handler(on_frame)
    call.start()
    GLib.timeout_add_seconds(TIMEOUT_S, loop.quit)
    loop.run()

    stats = call.get_stats()
    print("states:", [s.value_nick for s in states])
    print("sent %d, received %d, stats: sent %d received %d rtt %.2f ms"
          % (sent[0], len(received), stats.frames_sent,
             stats.frames_received, stats.rtt_ns / 1e6), flush=True)
    if Wzp.CallState.ACTIVE not in states:
        fail("never active: %s" % (errors[0].message if errors else states))
    if states[-1] != Wzp.CallState.ENDED:
        fail("did not end: %s" % [s.value_nick for s in states])
    if not errors or not errors[0].matches(Wzp.CallError.quark(),
                                           Wzp.CallError.HUNG_UP):
        fail("ended without the hung-up reason: %s" % errors)
    if len(received) < 20:
        fail("received %d frames" % len(received))
    sender, seq, data, path = received[0]
    if sender != b_fp or len(data) == 0 or path == Wzp.PathKind.NONE:
        fail("frame: %r" % (received[0],))
    if stats.frames_sent < 20 or stats.frames_received < 20 \
            or stats.state != Wzp.CallState.ENDED:
        fail("stats")
    if call.get_call_id() is None or \
            call.get_peer_fingerprint() != b_fp:
        fail("call id / peer")

    out, _ = callee.communicate(timeout=TIMEOUT_S)
    report = json.loads(out)
    print("callee:", report["state"], "received", report["frames_received"],
          flush=True)
    if report["state"] != "ended" or report["frames_received"] < 20:
        fail("the callee's report: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
