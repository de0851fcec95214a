#!/usr/bin/python3
"""One webrtcbin party of a two-way Opus call, for the benchmarks.

  webrtc_peer.py --role caller|callee --signal HOST:PORT [--stun HOST:PORT]
                 [--mode cold|warm] [--duration S] [--latency MS]

Pipeline (the same audio as every other benchmark party):

  audiotestsrc is-live=true wave=sine freq=F ! opusenc bitrate=32000
    frame-size=20 ! rtpopuspay ! webrtcbin (bundle max-bundle)
  webrtcbin src pad ! rtpopusdepay ! opusdec ! fakesink sync=true

Signaling goes through webrtc_servers.py (JSON lines over TCP).  The
callee connects, starts its pipeline and waits.  The caller's t0 is:

  cold  the moment it starts connecting to the signaling server; the
        offer is created at the same moment (webrtcbin's best case: the
        TCP handshake overlaps offer creation and ICE gathering);
  warm  the moment it creates the offer, signaling already connected.

On exit each party prints one JSON object on stdout with CLOCK_MONOTONIC
times in seconds (python's time.monotonic()), so the orchestrator can line
the two processes up: t0 (caller), offer, answer, ice_connected (ICE
connection state connected/completed), connected (peer connection
connected: DTLS done), first_rx (first decrypted RTP buffer out of
webrtcbin), first_decoded (first buffer at the fakesink), buffers.
"""
import argparse
import json
import signal
import socket
import sys
import threading
import time

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

now = time.monotonic


class Peer:
    def __init__(self, a):
        self.a = a
        self.t = {"role": a.role, "mode": a.mode}
        self.rx = 0
        self.decoded = 0
        self.sock = None
        self.wlock = threading.Lock()
        self.outq = []
        self.loop = GLib.MainLoop()
        stun = "stun-server=stun://%s" % a.stun if a.stun else ""
        desc = (
            "webrtcbin name=w bundle-policy=max-bundle latency=%d %s "
            "audiotestsrc is-live=true wave=sine freq=%d volume=0.5 ! "
            "audio/x-raw,rate=48000,channels=1 ! "
            "opusenc bitrate=32000 frame-size=20 ! rtpopuspay pt=96 ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=96,"
            "clock-rate=48000 ! w."
            % (a.latency, stun, a.freq))
        self.pipe = Gst.parse_launch(desc)
        self.w = self.pipe.get_by_name("w")
        self.w.connect("on-ice-candidate", self.on_ice_candidate)
        self.w.connect("pad-added", self.on_pad_added)
        self.w.connect("notify::ice-connection-state", self.on_ice_state)
        self.w.connect("notify::connection-state", self.on_conn_state)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    # --- signaling ------------------------------------------------------
    def connect_signal(self):
        host, port = self.a.signal.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall((json.dumps({"role": self.a.role}) + "\n").encode())
        with self.wlock:
            self.sock = s
            q, self.outq = self.outq, []
        for line in q:
            s.sendall(line)
        self.t.setdefault("signal_connected", now())
        f = s.makefile("rb")
        for line in f:
            msg = json.loads(line)
            GLib.idle_add(self.on_message, msg)

    def send(self, msg):
        line = (json.dumps(msg) + "\n").encode()
        with self.wlock:
            if self.sock is None:
                self.outq.append(line)
                return
            s = self.sock
        s.sendall(line)

    def start_signal_thread(self):
        threading.Thread(target=self.connect_signal, daemon=True).start()

    # --- offer / answer -------------------------------------------------
    def create_offer(self):
        self.t["offer"] = now()
        p = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        self.w.emit("create-offer", None, p)

    def on_offer_created(self, promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None:
            self.t["error"] = "create-offer: %s" % (
                reply.to_string() if reply else "no reply")
            GLib.idle_add(self.quit)
            return
        self.w.emit("set-local-description", offer, Gst.Promise.new())
        self.send({"type": "offer", "sdp": offer.sdp.as_text()})
        self.t["offer_sent"] = now()

    def on_message(self, msg):
        kind = msg.get("type")
        if kind == "offer":
            self.t["offer_rx"] = now()
            _, sdp = GstSdp.SDPMessage.new_from_text(msg["sdp"])
            desc = GstWebRTC.WebRTCSessionDescription.new(
                GstWebRTC.WebRTCSDPType.OFFER, sdp)
            self.w.emit("set-remote-description", desc, Gst.Promise.new())
            p = Gst.Promise.new_with_change_func(self.on_answer_created, None)
            self.w.emit("create-answer", None, p)
        elif kind == "answer":
            self.t["answer_rx"] = now()
            _, sdp = GstSdp.SDPMessage.new_from_text(msg["sdp"])
            desc = GstWebRTC.WebRTCSessionDescription.new(
                GstWebRTC.WebRTCSDPType.ANSWER, sdp)
            self.w.emit("set-remote-description", desc, Gst.Promise.new())
        elif kind == "candidate":
            self.w.emit("add-ice-candidate", msg["mline"], msg["candidate"])
        return False

    def on_answer_created(self, promise, _):
        reply = promise.get_reply()
        answer = reply.get_value("answer") if reply else None
        if answer is None:
            self.t["error"] = "create-answer: %s" % (
                reply.to_string() if reply else "no reply")
            GLib.idle_add(self.quit)
            return
        self.w.emit("set-local-description", answer, Gst.Promise.new())
        self.send({"type": "answer", "sdp": answer.sdp.as_text()})
        self.t["answer_sent"] = now()

    def on_ice_candidate(self, w, mline, cand):
        self.t.setdefault("first_candidate", now())
        self.t.setdefault("candidates", [])
        self.t["candidates"].append(cand.split(" typ ")[1].split()[0]
                                    if " typ " in cand else cand)
        self.send({"type": "candidate", "mline": mline, "candidate": cand})

    # --- states and media -----------------------------------------------
    def on_ice_state(self, w, _):
        st = w.get_property("ice-connection-state")
        if st in (GstWebRTC.WebRTCICEConnectionState.CONNECTED,
                  GstWebRTC.WebRTCICEConnectionState.COMPLETED):
            self.t.setdefault("ice_connected", now())
        if st == GstWebRTC.WebRTCICEConnectionState.FAILED:
            self.t["ice_failed"] = now()

    def on_conn_state(self, w, _):
        st = w.get_property("connection-state")
        if st == GstWebRTC.WebRTCPeerConnectionState.CONNECTED:
            self.t.setdefault("connected", now())

    def on_pad_added(self, w, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        pad.add_probe(Gst.PadProbeType.BUFFER, self.on_rx_buffer)
        sink = "fakesink sync=true" if not self.a.record else (
            "audioconvert ! wavenc ! filesink location=%s" % self.a.record)
        bin_ = Gst.parse_bin_from_description(
            "queue ! rtpopusdepay ! opusdec plc=true ! identity name=dec ! "
            + sink, True)
        bin_.get_by_name("dec").connect("handoff", self.on_decoded)
        bin_.get_by_name("dec").set_property("signal-handoffs", True)
        self.pipe.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))

    def on_rx_buffer(self, pad, info):
        if self.rx == 0:
            self.t["first_rx"] = now()
            if self.a.duration > 0:
                GLib.timeout_add(int(self.a.duration * 1000), self.quit)
        self.rx += 1
        return Gst.PadProbeReturn.OK

    def on_decoded(self, ident, buf):
        if self.decoded == 0:
            self.t["first_decoded"] = now()
        self.decoded += 1

    def on_error(self, bus, msg):
        err, dbg = msg.parse_error()
        self.t["error"] = "%s (%s)" % (err.message, dbg)
        self.quit()

    def quit(self):
        self.loop.quit()
        return False

    def run(self):
        a = self.a
        if a.role == "callee" or a.mode == "warm":
            # webrtcbin's DTLS elements generate one RSA certificate per
            # process, lazily, on the first call (~0.5 s here).  A waiting
            # callee and a warm caller have it already: make it now.
            t = now()
            Gst.ElementFactory.make("dtlsdec")
            self.t["cert_gen_s"] = now() - t
        self.pipe.set_state(Gst.State.PLAYING)
        self.pipe.get_state(Gst.CLOCK_TIME_NONE)
        if a.role == "callee":
            self.start_signal_thread()
            print("ready", file=sys.stderr, flush=True)
        elif a.mode == "cold":
            time.sleep(a.settle)
            self.t["t0"] = now()
            self.start_signal_thread()
            self.create_offer()
        else:
            self.start_signal_thread()
            time.sleep(a.settle)
            self.t["t0"] = now()
            GLib.idle_add(lambda: self.create_offer() and False)
        GLib.timeout_add(int(a.timeout * 1000), self.quit)
        # Stopped from outside (bench-call-cpu): still print the report,
        # whose counts show that audio flowed.
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, self.quit)
        self.loop.run()
        self.t["buffers"] = self.rx
        self.t["decoded"] = self.decoded
        self.pipe.set_state(Gst.State.NULL)
        print(json.dumps(self.t), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["caller", "callee"], required=True)
    ap.add_argument("--signal", required=True)
    ap.add_argument("--stun")
    ap.add_argument("--mode", choices=["cold", "warm"], default="cold")
    ap.add_argument("--duration", type=float, default=1.0,
                    help="seconds to keep running after the first buffer")
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--latency", type=int, default=0,
                    help="webrtcbin jitter-buffer latency in ms (0: the "
                    "setup benchmark measures the network, not buffering)")
    ap.add_argument("--freq", type=int, default=440)
    ap.add_argument("--settle", type=float, default=0.5,
                    help="seconds between PLAYING (and, warm, signaling "
                    "connected) and t0")
    ap.add_argument("--record", help="write the decoded far end to WAV")
    a = ap.parse_args()
    Gst.init(None)
    Peer(a).run()


if __name__ == "__main__":
    main()
