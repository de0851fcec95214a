#!/usr/bin/python3
"""place-call.py — call a wzp peer from Python, with libwzp itself.

    ./place-call.py --relay HOST:4433 --identity me.key --peer FINGERPRINT \\
        [--tone 440] [--record call.wav] [--duration 10]

The call is a Wzp.Call (libwzp through GObject introspection: no wzp
GStreamer element).  GStreamer only does the audio: the microphone (or a
test tone) is encoded by opusenc into an appsink, whose frames go to
Wzp.Call.send_frame(); the frames the call delivers go through a
Wzp.Jitter buffer into an appsrc, then opusdec to the speakers (or to a
WAV file).  Prints state and path changes and the statistics every two
seconds; Ctrl-C (or --duration) hangs up.  Exit status 0 when the call was
active and ended, 1 when it failed.

Run from a build tree:
    GI_TYPELIB_PATH=build/lib LD_LIBRARY_PATH=build/lib ./place-call.py ...
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("Wzp", "1.0")
from gi.repository import GLib, Gst, Wzp  # noqa: E402

LATENCY_MS = 60
OPUS_CAPS = "audio/x-opus, rate=48000, channels=1, channel-mapping-family=0"


class Caller:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.failed = False
        self.active = False
        identity, created = Wzp.Identity.load_or_create(args.identity)
        if created:
            print("created %s: our fingerprint is %s"
                  % (args.identity, identity.get_fingerprint()))
        self.call = Wzp.Call.new(None, identity, args.relay)
        self.call.props.peer = args.peer
        self.call.connect("state-changed", self.on_state)
        self.call.connect("path-changed", self.on_path)
        self.call.set_frame_handler(self.on_frame)
        self.jitter = Wzp.Jitter.new(LATENCY_MS, 500)
        self.send_pipeline = self.build_sender()
        self.play_pipeline, self.appsrc = self.build_player()
        self.t0 = None

    # --- audio --------------------------------------------------------

    def build_sender(self):
        src = ("audiotestsrc is-live=true wave=sine freq=%d" % self.args.tone
               if self.args.tone else "autoaudiosrc")
        p = Gst.parse_launch(
            "%s ! audioconvert ! audioresample ! opusenc ! "
            "appsink name=enc emit-signals=true sync=false" % src)
        p.get_by_name("enc").connect("new-sample", self.on_encoded)
        return p

    def build_player(self):
        out = ("audioconvert ! wavenc ! filesink location=\"%s\""
               % self.args.record if self.args.record else
               "audioconvert ! audioresample ! autoaudiosink")
        p = Gst.parse_launch(
            "appsrc name=src is-live=true format=time caps=\"%s\" ! "
            "opusdec plc=true ! %s" % (OPUS_CAPS, out))
        return p, p.get_by_name("src")

    def on_encoded(self, sink):
        # A GStreamer streaming thread: send_frame() may be called from
        # any thread.
        sample = sink.emit("pull-sample")
        buf = sample.get_buffer()
        ts = buf.pts * 48000 // Gst.SECOND if buf.pts != Gst.CLOCK_TIME_NONE \
            else 0
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            self.call.send_frame(ts & 0xffffffff,
                                 buf.has_flags(Gst.BufferFlags.DISCONT),
                                 bytes(info.data))
            buf.unmap(info)
        return Gst.FlowReturn.OK

    def now_ns(self):
        return GLib.get_monotonic_time() * 1000

    def on_frame(self, frame):
        # The call's context (our main loop): into the jitter buffer.
        self.jitter.push(frame.seq, frame.timestamp,
                         GLib.Bytes.new(bytes(frame.data)), self.now_ns())

    def play_due(self):
        # Pops what is due; a lost frame becomes a GAP, which opusdec
        # (plc=true) conceals.
        now = self.now_ns()
        while True:
            ok, item = self.jitter.pop(now)
            if not ok:
                break
            if self.t0 is None:
                self.t0 = item.deadline_ns
            pts = max(item.deadline_ns - self.t0, 0)
            if item.kind == Wzp.JitterItemKind.PACKET:
                buf = Gst.Buffer.new_wrapped(item.payload.get_data())
                buf.pts, buf.duration = pts, item.duration_ns
                self.appsrc.emit("push-buffer", buf)
            else:
                self.appsrc.send_event(Gst.Event.new_gap(pts,
                                                         item.duration_ns))
            item.clear()
        return self.active

    # --- the call -----------------------------------------------------

    def on_state(self, call, state, reason):
        print("call:", state.value_nick, reason.message if reason else "")
        if state == Wzp.CallState.ACTIVE:
            self.active = True
            self.send_pipeline.set_state(Gst.State.PLAYING)
            self.play_pipeline.set_state(Gst.State.PLAYING)
            GLib.timeout_add(10, self.play_due)
            if self.args.duration:
                GLib.timeout_add_seconds(self.args.duration, self.hang_up)
        elif state in (Wzp.CallState.ENDED, Wzp.CallState.FAILED):
            self.active = False
            self.failed = state == Wzp.CallState.FAILED
            if reason and self.failed:
                print("error:", Wzp.call_error_describe(
                    reason, self.args.relay, self.args.peer),
                    file=sys.stderr)
            self.appsrc.emit("end-of-stream")
            GLib.timeout_add(500, self.loop.quit)

    def on_path(self, call, path, reason):
        print("path:", path.value_nick, reason)

    def print_stats(self):
        s = self.call.get_stats()
        js = self.jitter.get_stats()
        print("stats: %s rtt=%.1f ms sent=%d received=%d lost=%d "
              "jitter=%.1f ms" % (s.path.value_nick, s.rtt_ns / 1e6,
                                  s.frames_sent, s.frames_received, js.lost,
                                  js.jitter_ns / 1e6))
        return True

    def hang_up(self):
        print("hanging up")
        self.call.hangup()
        return False

    def run(self):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT,
                             self.hang_up)
        GLib.timeout_add_seconds(2, self.print_stats)
        self.call.start()
        print("calling %s" % self.args.peer)
        self.loop.run()
        # Let the WAV header be written.
        bus = self.play_pipeline.get_bus()
        bus.timed_pop_filtered(2 * Gst.SECOND, Gst.MessageType.EOS)
        self.send_pipeline.set_state(Gst.State.NULL)
        self.play_pipeline.set_state(Gst.State.NULL)
        return 1 if self.failed or self.call.get_call_id() is None else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--relay", required=True)
    ap.add_argument("--identity", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--tone", type=int, help="send a tone of this frequency")
    ap.add_argument("--record", help="record the far end to this WAV file")
    ap.add_argument("--duration", type=int, help="hang up after S seconds")
    args = ap.parse_args()
    Gst.init(None)
    try:
        return Caller(args).run()
    except GLib.Error as e:
        print("error:", e.message, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
