#!/usr/bin/env python3
"""Loss on the media path: wzpsrc turns missing frames into GAP events,
opusdec conceals them, and the far end still hears its tone.

A wzp-relay process on loopback; nftables drops 10 % of the UDP packets to
and from the relay's ports (its QUIC port and its media port) from before
the first packet (registration, call signaling, channel BINDs and media
all cross the loss; both calls use the relay path only, so all media
crosses it).  One Python process holds two calls (two sessions, so
two sockets and registrations): A sends 440 Hz, B sends 1000 Hz, each
decodes what it hears with opusdec (plc) to a WAV file.  After ~6 s the
test reads each wzpsrc's `stats` and checks that frames were lost and
concealed, that most arrived, and that the decoded audio is the far end's
tone.

Exit 77 (skipped) without root or nft.
"""
import faulthandler
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module  # noqa: E402

e2e = import_module("test-e2e-tones")

SKIP = 77
LOSS_PERCENT = 10
RUN_S = 6.0
TABLE = "wzp_e2e_loss_%d" % os.getpid()


def log(*a):
    print(*a, flush=True)


def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def main():
    # A hang shows where it is instead of a silent timeout.
    faulthandler.dump_traceback_later(100, exit=True)
    if os.geteuid() != 0 or not shutil.which("nft"):
        print("SKIP: needs root and nft to drop packets on loopback")
        return SKIP
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst, GLib
    Gst.init(None)
    if Gst.ElementFactory.find("wzpsrc") is None:
        print("SKIP: the wzp plugin is not on GST_PLUGIN_PATH")
        return SKIP

    build = e2e.BUILD
    relay_bin = os.path.join(build, "tools", "wzp-relay")
    wzp_tool = os.path.join(build, "tools", "wzp")
    tmp = tempfile.mkdtemp(prefix="wzp-loss-")
    port = e2e.free_udp_port()
    media_port = port
    while media_port == port:
        media_port = e2e.free_udp_port()
    relay = "127.0.0.1:%d" % port
    # The loss is in place before anything is sent: registration and call
    # setup must get through it too.
    nft("""table inet %s {
  chain out {
    type filter hook output priority 0;
    udp dport { %d, %d } numgen random mod 100 < %d counter drop
    udp sport { %d, %d } numgen random mod 100 < %d counter drop
  }
}
""" % (TABLE, port, media_port, LOSS_PERCENT, port, media_port, LOSS_PERCENT))
    log("dropping %d %% of the relay's traffic from the start" % LOSS_PERCENT)
    relay_proc = subprocess.Popen(
        [relay_bin, "--listen", relay, "--probe-listen", "none",
         "--media-listen", "127.0.0.1:%d" % media_port,
         "--identity", os.path.join(tmp, "relay.key")],
        stdout=open(os.path.join(tmp, "relay.log"), "w"),
        stderr=subprocess.STDOUT)
    pipelines = []
    try:
        time.sleep(0.5)

        a_key, b_key = os.path.join(tmp, "a.key"), os.path.join(tmp, "b.key")
        e2e.fingerprint(a_key, wzp_tool)
        b_fp = e2e.fingerprint(b_key, wzp_tool)

        def make(name, key, freq, peer):
            common = ("session=%s relay=%s identity=%s path-policy=relay-only"
                      % (name, relay, key))
            common += (" peer=" + peer) if peer else " answer=auto"
            wav = os.path.join(tmp, name + ".wav")
            desc = ("audiotestsrc is-live=true wave=sine volume=0.5 freq=%d ! "
                    "audio/x-raw,rate=48000,channels=1 ! opusenc ! "
                    "wzpsink %s  wzpsrc name=src %s latency=80 ! "
                    "opusdec plc=true ! audioconvert ! "
                    "audio/x-raw,format=S16LE ! wavenc ! filesink location=%s"
                    % (freq, common, common, wav))
            p = Gst.parse_launch(desc)
            p.set_state(Gst.State.PLAYING)
            pipelines.append(p)
            return p, wav

        b, b_wav = make("b", b_key, 1000, None)
        time.sleep(1.0)
        a, a_wav = make("a", a_key, 440, b_fp)

        ctx = GLib.MainContext.default()

        def state(p):
            st = p.get_by_name("src").get_property("stats")
            return st.get_value("state") if st else None

        deadline = time.monotonic() + 20
        while not (state(a) == "active" and state(b) == "active"):
            if time.monotonic() > deadline:
                log("FAIL: calls not active: a=%s b=%s" % (state(a), state(b)))
                return 1
            ctx.iteration(False)
            time.sleep(0.01)
        log("both calls active")
        end = time.monotonic() + RUN_S
        while time.monotonic() < end:
            ctx.iteration(False)
            time.sleep(0.01)

        stats = {}
        for name, p in (("a", a), ("b", b)):
            st = p.get_by_name("src").get_property("stats")
            stats[name] = {f: st.get_value(f) for f in
                           ("packets-received", "lost", "concealed", "late")}
        log("stopping")
        for p in pipelines:
            p.send_event(Gst.Event.new_eos())
        for p in pipelines:
            p.get_bus().timed_pop_filtered(
                5 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
            p.set_state(Gst.State.NULL)
        pipelines.clear()
        log("stopped")

        dropped = subprocess.run(["nft", "list", "table", "inet", TABLE],
                                 capture_output=True, text=True).stdout
        drops = sum(int(n) for n in re.findall(r"packets (\d+)", dropped))

        ok = drops > 0
        log("nftables dropped %d packets" % drops)
        for name, wav, want in (("a", a_wav, 1000), ("b", b_wav, 440)):
            s = stats[name]
            freq, dur = e2e.tone_frequency(wav)
            good = (s["packets-received"] >= 150 and s["concealed"] > 0
                    and abs(freq - want) <= want * 0.05 and dur >= 3.0)
            log("%s: %s; heard %.1f Hz for %.2f s (want %d Hz): %s"
                  % (name.upper(), s, freq, dur, want,
                     "ok" if good else "FAIL"))
            ok = ok and good
        return 0 if ok else 1
    finally:
        for p in pipelines:
            p.set_state(Gst.State.NULL)
        subprocess.run(["nft", "delete", "table", "inet", TABLE],
                       capture_output=True)
        relay_proc.kill()
        relay_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
