#!/usr/bin/python3
"""answer-later.py — wait for wzp calls and ask before answering (PyGObject).

    ./answer-later.py --relay HOST:4433 --identity me.key [--record call.ogg]
        [--answer-after SECONDS] [--once]

With answer=ask, a ringing call does not block anything: wzpsrc posts a
`wzp-incoming-call` message (caller, call-id) and keeps the call ringing
until the application emits the "answer" or "reject" action signal with
that call id, from any thread and as late as it likes.  This program asks
on the terminal from its own GLib main loop (or, with --answer-after,
answers by itself that many seconds later), plays (or records) the far
end, and sends a test tone.  It prints the call, path and relay states.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--relay", required=True)
    ap.add_argument("--identity", required=True)
    ap.add_argument("--relay-fingerprint")
    ap.add_argument("--record", help="record the far end to this Ogg file")
    ap.add_argument("--answer-after", type=float,
                    help="answer every call by itself after this many "
                         "seconds instead of asking")
    ap.add_argument("--once", action="store_true",
                    help="exit when the first call ends")
    args = ap.parse_args()

    Gst.init(None)
    call = 'session=answer-later answer=ask relay="%s" identity="%s"' % (
        args.relay, args.identity)
    if args.relay_fingerprint:
        call += " relay-fingerprint=%s" % args.relay_fingerprint
    play = ('oggmux ! filesink location="%s"' % args.record if args.record
            else "opusdec plc=true ! audioconvert ! audioresample ! "
                 "autoaudiosink")
    pipeline = Gst.parse_launch(
        "audiotestsrc is-live=true freq=660 ! audioconvert ! audioresample "
        "! opusenc ! wzpsink name=sink %s  wzpsrc name=src %s ! %s" % (
            call, call, play))
    src = pipeline.get_by_name("src")
    loop = GLib.MainLoop()
    ringing = {}

    def decide(call_id, accept):
        if ringing.pop("id", None) != call_id:
            return False
        ok = src.emit("answer" if accept else "reject", call_id)
        print("%s call %s: %s" % ("answered" if accept else "rejected",
                                  call_id, "ok" if ok else
                                  "too late, the caller gave up"),
              flush=True)
        return False            # a one-shot GLib source

    def on_stdin(channel, cond):
        line = sys.stdin.readline()
        if "id" in ringing and line:
            decide(ringing["id"], line.strip().lower().startswith("y"))
        return True

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ELEMENT and msg.src == src:
            s = msg.get_structure()
            name = s.get_name()
            if name == "wzp-incoming-call":
                call_id = s.get_string("call-id")
                ringing["id"] = call_id
                if args.answer_after is not None:
                    print("incoming call from %s: answering in %.1f s" % (
                        s.get_string("caller"), args.answer_after),
                        flush=True)
                    GLib.timeout_add(int(args.answer_after * 1000), decide,
                                     call_id, True)
                else:
                    print("incoming call from %s: answer? [y/n] " %
                          s.get_string("caller"), end="", flush=True)
            elif name == "wzp-call-state":
                print("call:", s.get_string("state"),
                      s.get_string("reason") or "", flush=True)
            elif name == "wzp-path-changed":
                print("path:", s.get_string("path"), flush=True)
            elif name == "wzp-relay-state":
                print("relay:", s.get_string("state"),
                      s.get_string("reason") or "", flush=True)
        elif msg.type == Gst.MessageType.INFO:
            print(msg.parse_info()[0].message, flush=True)
        elif msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            print("error:", err.message, file=sys.stderr, flush=True)
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            # wzpsrc ends its stream when the call ends
            if args.once:
                loop.quit()
            else:
                GLib.idle_add(restart)
        return True

    def restart():
        print("waiting for the next call", flush=True)
        pipeline.set_state(Gst.State.NULL)
        pipeline.set_state(Gst.State.PLAYING)
        return False

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    if args.answer_after is None:
        GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()),
                          GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN,
                          on_stdin)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.timed_pop_filtered(Gst.SECOND, Gst.MessageType.ERROR)
        if msg:
            print("error:", msg.parse_error()[0].message, file=sys.stderr)
        return 1
    print("waiting for calls to", src.get_property("fingerprint"),
          flush=True)
    loop.run()
    # With -e semantics: let a recording finish.
    pipeline.send_event(Gst.Event.new_eos())
    bus.timed_pop_filtered(2 * Gst.SECOND, Gst.MessageType.EOS)
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
