#!/usr/bin/env python3
"""A room heard whole: three members sending 440, 660 and 880 Hz, a fourth
(the room's owner) recording it two ways at once.

A wzp-relay process; the owner invites three members (`wzp invite`), each
a gst-launch-1.0 pipeline sending its tone with wzpsink.  The owner is
this process (PyGObject), with two wzproomsrc sharing one membership
(session=rec):

  - mix=true ! audioconvert ! opusenc ! oggmux ! filesink mix.ogg
  - per-member pads: each src_FINGERPRINT recorded to its own Ogg file as
    it appears.

After all three are heard for a few seconds the 880 Hz member stops
(gst-launch -e: EOS, its wzpsink leaves the room), the recording goes on,
then everything stops with EOS.  Checked, on the decoded audio
(opusdec, then a Goertzel filter per half second: the power at each tone
against the power at frequencies nobody sends):

  - mix.ogg: 440, 660 and 880 Hz together for >= 2 s; after the leave,
    440 and 660 without 880 for >= 2 s, and never 880 again;
  - each member file holds its member's tone and not the other two;
  - pad-added for the three member pads, EOS and pad-removed for the one
    that left, and wzp-room-member messages "joined" x3 and "left" x1.

Exit 77 (skipped) without PyGObject or the wzp plugin.  WZP_KEEP_TMP=1
keeps the recordings and logs.
"""
import faulthandler
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module  # noqa: E402

e2e = import_module("test-e2e-tones")

SKIP = 77
TONES = (440, 660, 880)
# Frequencies nobody sends: the noise floor of a window.
REFERENCE = (330, 550, 770, 990, 1210)
RATE = 16000
WINDOW_S = 0.5
ALL_THREE_S = 4.0
AFTER_LEAVE_S = 4.0


def log(*a):
    print(*a, flush=True)


def goertzel(samples, freq, rate):
    """Power of @freq in @samples (a Goertzel filter: one DFT bin)."""
    k = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + k * s1 - s2
        s2 = s1
        s1 = s0
    return s1 * s1 + s2 * s2 - k * s1 * s2


def decode(ogg, wav):
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + ogg,
                    "!", "oggdemux", "!", "opusdec", "!", "audioconvert", "!",
                    "audioresample", "!",
                    "audio/x-raw,format=S16LE,rate=%d,channels=1" % RATE, "!",
                    "wavenc", "!", "filesink", "location=" + wav], check=True)
    with wave.open(wav, "rb") as w:
        data = w.readframes(w.getnframes())
    return struct.unpack("<%dh" % (len(data) // 2), data)


def tones_per_window(samples):
    """For each window: the set of TONES clearly present (>= 30x the
    loudest reference frequency, and not just rounding noise)."""
    n = int(RATE * WINDOW_S)
    out = []
    for start in range(0, len(samples) - n + 1, n):
        w = samples[start:start + n]
        floor = max(goertzel(w, f, RATE) for f in REFERENCE)
        floor = max(floor, 1e3 * n * n)
        out.append({f for f in TONES if goertzel(w, f, RATE) > 30 * floor})
    return out


def describe(windows):
    return " ".join("".join(str(f // 220) for f in sorted(w)) or "-"
                    for w in windows)


def main():
    faulthandler.dump_traceback_later(110, exit=True)
    try:
        import gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst, GLib
    except (ImportError, ValueError):
        log("SKIP: no PyGObject with GStreamer")
        return SKIP
    Gst.init(None)
    if Gst.ElementFactory.find("wzproomsrc") is None:
        log("SKIP: the wzp plugin is not on GST_PLUGIN_PATH")
        return SKIP
    build = e2e.BUILD
    relay_bin = os.path.join(build, "tools", "wzp-relay")
    wzp = os.path.join(build, "tools", "wzp")
    tmp = tempfile.mkdtemp(prefix="wzp-room-mix-")
    procs = []
    pipeline = None
    try:
        port = e2e.free_udp_port()
        relay = "127.0.0.1:%d" % port
        procs.append(subprocess.Popen(
            [relay_bin, "--listen", relay, "--probe-listen", "none",
             "--identity", os.path.join(tmp, "relay.key")],
            stdout=open(os.path.join(tmp, "relay.log"), "w"),
            stderr=subprocess.STDOUT))
        owner_key = os.path.join(tmp, "owner.key")
        owner = e2e.fingerprint(owner_key, wzp)
        members = {}
        for freq in TONES:
            key = os.path.join(tmp, "m%d.key" % freq)
            fp = e2e.fingerprint(key, wzp)
            subprocess.run([wzp, "invite", "-i", owner_key, "--room",
                            "standup", "--member", fp, "-o", key + ".inv"],
                           check=True, capture_output=True)
            members[fp] = freq
        time.sleep(0.3)

        # The owner records the room: mixed, and one file per member.
        common = ("relay=%s identity=%s room=standup room-owner=%s "
                  "session=rec" % (relay, owner_key, owner))
        pipeline = Gst.parse_launch(
            "wzproomsrc name=mix mix=true %s ! audioconvert ! opusenc ! "
            "oggmux ! filesink location=%s  wzproomsrc name=pads %s"
            % (common, os.path.join(tmp, "mix.ogg"), common))
        pads = pipeline.get_by_name("pads")
        events = []
        added, removed, eos_on = [], [], []

        def on_eos_probe(pad, info):
            if info.get_event().type == Gst.EventType.EOS:
                eos_on.append(pad.get_name())
            return Gst.PadProbeReturn.OK

        def on_pad_added(element, pad):
            name = pad.get_name()
            added.append(name)
            fp = name[len("src_"):]
            # async=false: a sink added to a live pipeline must not wait
            # for a preroll that a live source never gives.
            mux = Gst.ElementFactory.make("oggmux")
            sink = Gst.ElementFactory.make("filesink")
            sink.set_property("async", False)
            sink.set_property("location", os.path.join(
                tmp, "member-%d.ogg" % members.get(fp, 0)))
            pipeline.add(mux)
            pipeline.add(sink)
            mux.link(sink)
            mux.sync_state_with_parent()
            sink.sync_state_with_parent()
            pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_eos_probe)
            if pad.link(mux.get_compatible_pad(pad, None)) != \
                    Gst.PadLinkReturn.OK:
                errors.append("cannot link " + name)

        pads.connect("pad-added", on_pad_added)
        pads.connect("pad-removed", lambda e, p: removed.append(p.get_name()))
        bus = pipeline.get_bus()
        errors = []

        def pump(seconds, until=None):
            """Handles messages for @seconds, or until @until() holds
            (TRUE), an error (FALSE) or EOS (TRUE when @until is None)."""
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                msg = bus.timed_pop(50 * Gst.MSECOND)
                if msg is None:
                    if until and until():
                        return True
                    continue
                if msg.type == Gst.MessageType.ERROR:
                    err, dbg = msg.parse_error()
                    errors.append("%s (%s)" % (err.message, dbg))
                    return False
                if msg.type == Gst.MessageType.EOS:
                    return until is None
                if msg.type == Gst.MessageType.LATENCY:
                    pipeline.recalculate_latency()
                s = msg.get_structure()
                if (msg.type == Gst.MessageType.ELEMENT and s and
                        s.get_name() == "wzp-room-member"):
                    events.append((msg.src.get_name(),
                                   s.get_string("event"),
                                   s.get_string("fingerprint")))
                if until and until():
                    return True
            return False

        def wait(seconds):
            pump(seconds, lambda: False)

        assert pipeline.set_state(Gst.State.PLAYING) != \
            Gst.StateChangeReturn.FAILURE
        # Live: PLAYING at once (no preroll to wait for).
        if pipeline.get_state(10 * Gst.SECOND)[1] != Gst.State.PLAYING:
            raise RuntimeError("the recorder did not reach PLAYING")
        senders = {}
        for fp, freq in members.items():
            key = os.path.join(tmp, "m%d.key" % freq)
            cmd = ["gst-launch-1.0", "-e", "audiotestsrc", "is-live=true",
                   "freq=%d" % freq, "volume=0.3", "!",
                   "audio/x-raw,rate=48000,channels=1", "!", "opusenc", "!",
                   "wzpsink", "relay=" + relay, "identity=" + key,
                   "room=standup", "room-owner=" + owner,
                   "room-invite=@" + key + ".inv"]
            p = subprocess.Popen(cmd, stdout=open(key + ".log", "w"),
                                 stderr=subprocess.STDOUT,
                                 start_new_session=True)
            procs.append(p)
            senders[freq] = p

        if not pump(20, lambda: len(added) == 3):
            raise RuntimeError("members did not all arrive: %s %s"
                               % (added, errors))
        log("all three members have pads: %s" % sorted(added))
        wait(1.0 + ALL_THREE_S)
        leaver = [fp for fp, f in members.items() if f == 880][0]
        log("the 880 Hz member leaves")
        senders[880].send_signal(signal.SIGINT)
        if not pump(15, lambda: "src_" + leaver in removed):
            raise RuntimeError("the leaver's pad stayed: %s %s"
                               % (removed, errors))
        wait(AFTER_LEAVE_S)
        log("stopping the recording")
        pipeline.send_event(Gst.Event.new_eos())
        if not pump(15):
            raise RuntimeError("no EOS: %s" % errors)
        pipeline.set_state(Gst.State.NULL)
        pipeline = None
        for freq in (440, 660):
            senders[freq].send_signal(signal.SIGINT)

        ok = not errors
        for e in errors:
            log("error:", e)
        # Membership as the application saw it.
        joined = {fp for src, ev, fp in events
                  if src == "pads" and ev == "joined"}
        left = {fp for src, ev, fp in events if src == "pads" and ev == "left"}
        log("pads: added %d, removed %s, EOS on %s; messages: joined %d, "
            "left %d" % (len(added), removed, eos_on, len(joined), len(left)))
        if joined != set(members) or left != {leaver}:
            log("FAIL: wzp-room-member messages: %s" % events)
            ok = False
        if "src_" + leaver not in eos_on or \
                sorted(added) != sorted("src_" + fp for fp in members):
            log("FAIL: pads: added %s, EOS on %s" % (added, eos_on))
            ok = False

        # The mix: all three together, then the two without 880 Hz.
        mix = tones_per_window(decode(os.path.join(tmp, "mix.ogg"),
                                      os.path.join(tmp, "mix.wav")))
        log("mix, per %.1f s (2=440 3=660 4=880): %s" % (WINDOW_S,
                                                          describe(mix)))
        all3 = [i for i, w in enumerate(mix) if w == set(TONES)]
        last880 = max((i for i, w in enumerate(mix) if 880 in w), default=-1)
        two = [i for i, w in enumerate(mix)
               if i > last880 and w == {440, 660}]
        if len(all3) * WINDOW_S < 2.0:
            log("FAIL: the three tones are together for %.1f s only"
                % (len(all3) * WINDOW_S))
            ok = False
        if len(two) * WINDOW_S < 2.0:
            log("FAIL: after the leave, 440+660 alone for %.1f s only"
                % (len(two) * WINDOW_S))
            ok = False

        # Each member's pad: its tone, not the others.
        for freq in TONES:
            ogg = os.path.join(tmp, "member-%d.ogg" % freq)
            w = tones_per_window(decode(ogg, ogg[:-4] + ".wav"))
            own = sum(1 for x in w if x == {freq})
            other = sum(1 for x in w if x - {freq})
            log("member %d Hz: %s" % (freq, describe(w)))
            if own * WINDOW_S < 2.0 or other > 0:
                log("FAIL: the %d Hz member's pad: %.1f s of its own tone, "
                    "%d windows with another" % (freq, own * WINDOW_S, other))
                ok = False
        if not ok:
            for f in ("relay.log",):
                log("---", f)
                log(open(os.path.join(tmp, f)).read()[-3000:])
        return 0 if ok else 1
    finally:
        if pipeline is not None:
            pipeline.set_state(Gst.State.NULL)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        time.sleep(0.3)
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        if not os.environ.get("WZP_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept", tmp)


if __name__ == "__main__":
    sys.exit(main())
