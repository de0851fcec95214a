#!/usr/bin/python3
"""place-call.py — call a wzp peer from Python (PyGObject).

    ./place-call.py --relay HOST:4433 --identity me.key --peer FINGERPRINT \
        [--tone 440] [--record call.ogg]

Sends the microphone (or a test tone) to the peer and plays (or records)
what comes back.  wzpsrc and wzpsink share one call through their
`session`.  Prints call state and path changes and the stats every two
seconds; Ctrl-C hangs up.
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
    ap.add_argument("--peer", required=True)
    ap.add_argument("--tone", type=int, help="send a tone of this frequency")
    ap.add_argument("--record", help="record the far end to this Ogg file")
    args = ap.parse_args()

    Gst.init(None)
    call = 'session=place-call relay="%s" identity="%s" peer="%s"' % (
        args.relay, args.identity, args.peer)
    send = ("audiotestsrc is-live=true freq=%d" % args.tone if args.tone
            else "autoaudiosrc")
    play = ("oggmux ! filesink location=\"%s\"" % args.record if args.record
            else "opusdec plc=true ! audioconvert ! audioresample ! "
                 "autoaudiosink")
    pipeline = Gst.parse_launch(
        "%s ! audioconvert ! audioresample ! opusenc ! wzpsink name=sink %s "
        "wzpsrc name=src %s ! %s" % (send, call, call, play))
    src = pipeline.get_by_name("src")
    loop = GLib.MainLoop()

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ELEMENT and msg.src == src:
            s = msg.get_structure()
            if s.get_name() == "wzp-call-state":
                print("call:", s.get_string("state"),
                      s.get_string("reason") or "")
            elif s.get_name() == "wzp-path-changed":
                print("path:", s.get_string("path"),
                      s.get_string("reason") or "")
        elif msg.type == Gst.MessageType.INFO:
            print(msg.parse_info()[0].message)
        elif msg.type == Gst.MessageType.ERROR:
            err, _ = msg.parse_error()
            print("error:", err.message, file=sys.stderr)
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            print("call ended")
            loop.quit()
        return True

    def print_stats():
        s = src.get_property("stats")
        print("stats: path=%s rtt=%.1f ms sent=%d received=%d lost=%d "
              "jitter=%.1f ms" % (
                  s.get_string("path"), s.get_double("rtt-ms")[1],
                  s.get_uint64("packets-sent")[1],
                  s.get_uint64("packets-received")[1],
                  s.get_uint64("lost")[1], s.get_double("jitter-ms")[1]))
        return True

    def hang_up():
        print("hanging up")
        pipeline.send_event(Gst.Event.new_eos())   # finalizes a recording
        GLib.timeout_add(500, loop.quit)
        return False

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, hang_up)
    GLib.timeout_add_seconds(2, print_stats)

    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg:
            print("error:", msg.parse_error()[0].message, file=sys.stderr)
        return 1
    print("calling %s as %s" % (args.peer, src.get_property("fingerprint")))
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
