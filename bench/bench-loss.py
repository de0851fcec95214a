#!/usr/bin/python3
"""Random packet loss on a two-way Opus call: wzp (relay path, direct
path) vs the plain RTP/UDP floor.  Needs root (nftables).

  bench/bench-loss.py [--quick] [--duration S] [--loss 0,5,10,20]
                      [--build DIR] [--markdown FILE] [--json FILE]

One Python process (PyGObject, /usr/bin/python3) holds both parties of a
call.  A sends 440 Hz, B sends 1000 Hz (`audiotestsrc is-live=true
wave=sine volume=0.5 ! opusenc bitrate=32000 frame-size=20`); each decodes
what it hears with `opusdec plc=true` into an appsink (sync=true).

  wzp-relay   wzpsink/wzpsrc through a local wzp-relay, path-policy=
              relay-only.  nftables drops N % of the UDP packets sent TO
              the relay's ports (QUIC and media): both media directions (A->relay,
              B->relay) lose N % end to end, as on the other rows.
  wzp-direct  the same with path-policy=auto; once both parties report
              path=direct, nftables drops N % of the UDP packets between
              the two clients' own ports (found with `ss`), not the
              relay's.
  rtp         rtpopuspay ! udpsink / udpsrc ! rtpjitterbuffer latency=60
              do-lost=true ! rtpopusdepay ! opusdec plc=true; N % of the
              packets to either party's port dropped.

The loss rule goes in after a warm-up (call up, path settled); the
measured window starts then and lasts --duration seconds (10 s).  Per row:
packets nftables dropped, frames lost and concealed as the receivers count
them (wzpsrc `stats` lost/concealed; rtpjitterbuffer `stats` num-lost,
each of which opusdec conceals), and the decoded audio of the window in
20 ms windows: the share whose dominant frequency (Hann-windowed FFT,
zero-padded to 16384 points) is within +-5 % of the far end's tone, and
the share whose RMS is within +-3 dB of the sent level (plus the RMS
coefficient of variation).  Both parties are summed / pooled.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import prereqs

try:
    import numpy as np
except ImportError:      # main() names the package before it is used
    np = None

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
RATE = 48000
WIN = RATE // 50                      # 20 ms
SENT_RMS = 0.5 / 2 ** 0.5              # volume=0.5 sine, full scale 1.0
ENC = ("audiotestsrc is-live=true wave=sine volume=0.5 freq={f} ! "
       "audio/x-raw,rate=48000,channels=1 ! "
       "opusenc bitrate=32000 frame-size=20")
OUT = ("opusdec plc=true ! audioconvert ! audioresample ! "
       "audio/x-raw,format=S16LE,rate=48000,channels=1 ! "
       "appsink name=out sync=true emit-signals=true")
RTPCAPS = ("application/x-rtp,media=audio,encoding-name=OPUS,payload=96,"
           "clock-rate=48000")
TABLE = "wzp_bench_loss_%d" % os.getpid()
FREQ = {"a": 440, "b": 1000}          # what each party sends
HEARS = {"a": 1000, "b": 440}

Gst = GLib = None


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nft_drop(match, percent):
    nft_clear()
    if percent <= 0:
        return
    subprocess.run(["nft", "-f", "-"], check=True, text=True, input="""
table inet %s {
  chain out {
    type filter hook output priority 0;
    %s numgen random mod 100 < %d counter drop
  }
}
""" % (TABLE, match, percent))


def nft_dropped():
    txt = subprocess.run(["nft", "list", "table", "inet", TABLE],
                         capture_output=True, text=True).stdout
    return sum(int(n) for n in re.findall(r"packets (\d+)", txt))


def nft_clear():
    subprocess.run(["nft", "delete", "table", "inet", TABLE],
                   capture_output=True)


def own_udp_ports():
    """Local UDP ports of sockets this process holds."""
    txt = subprocess.run(["ss", "-uanpH"], capture_output=True,
                         text=True).stdout
    ports = set()
    for line in txt.splitlines():
        if "pid=%d," % os.getpid() in line:
            local = line.split()[3]
            ports.add(int(local.rsplit(":", 1)[1]))
    return sorted(ports)


class Call:
    """Two pipelines in this process; appsinks collect the decoded audio
    while self.recording is set."""

    def __init__(self, descs):
        self.recording = False
        self.audio = {k: [] for k in descs}
        self.pipes = {}
        self.errors = []
        for name, desc in descs.items():
            p = Gst.parse_launch(desc)
            p.get_by_name("out").connect("new-sample", self._sample, name)
            self.pipes[name] = p

    def _sample(self, sink, name):
        s = sink.emit("pull-sample")
        if self.recording:
            b = s.get_buffer()
            ok, m = b.map(Gst.MapFlags.READ)
            if ok:
                self.audio[name].append(bytes(m.data))
                b.unmap(m)
        return Gst.FlowReturn.OK

    def start(self, name):
        self.pipes[name].set_state(Gst.State.PLAYING)

    def run(self, seconds, until=None):
        ctx = GLib.MainContext.default()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            while ctx.iteration(False):
                pass
            for name, p in self.pipes.items():
                msg = p.get_bus().pop_filtered(Gst.MessageType.ERROR)
                if msg:
                    err, dbg = msg.parse_error()
                    self.errors.append("%s: %s" % (name, err.message))
            if self.errors:
                raise RuntimeError("; ".join(self.errors))
            if until and until():
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        for p in self.pipes.values():
            p.set_state(Gst.State.NULL)


def wzp_stats(call):
    out = {}
    for name, p in call.pipes.items():
        st = p.get_by_name("src").get_property("stats")
        out[name] = {f: st.get_value(f) for f in
                     ("packets-received", "lost", "concealed", "late",
                      "path-changes")}
        out[name]["path"] = st.get_value("path")
    return out


def rtp_stats(call):
    out = {}
    for name, p in call.pipes.items():
        st = p.get_by_name("jb").get_property("stats")
        lost = st.get_value("num-lost")
        out[name] = {"packets-received": st.get_value("num-pushed"),
                     "lost": lost, "concealed": lost,
                     "late": st.get_value("num-late")}
    return out


def analyse(raw, want):
    x = np.frombuffer(b"".join(raw), dtype="<i2").astype(np.float64)
    x /= 32768.0
    n = len(x) // WIN
    if n == 0:
        return {"windows": 0, "tone_ok": 0.0, "rms_ok": 0.0, "rms_cv": 0.0}
    w = x[:n * WIN].reshape(n, WIN)
    hann = np.hanning(WIN)
    spec = np.abs(np.fft.rfft(w * hann, 16384, axis=1))
    freqs = np.fft.rfftfreq(16384, 1.0 / RATE)
    peak = freqs[np.argmax(spec[:, 1:], axis=1) + 1]
    rms = np.sqrt(np.mean(w * w, axis=1))
    audible = rms > SENT_RMS * 0.05          # -26 dB: not silence
    tone_ok = audible & (np.abs(peak - want) <= 0.05 * want)
    db = 20 * np.log10(np.maximum(rms, 1e-9) / SENT_RMS)
    return {"windows": int(n), "tone_ok": float(tone_ok.mean()),
            "rms_ok": float((np.abs(db) <= 3.0).mean()),
            "rms_cv": float(rms.std() / rms.mean()) if rms.mean() else 0.0}


def row(system, loss, dur, build, tmp):
    relay_proc = None
    if system == "rtp":
        pa, pb = free_udp_port(), free_udp_port()
        descs = {}
        for me, rx, tx in (("a", pa, pb), ("b", pb, pa)):
            descs[me] = (
                ENC.format(f=FREQ[me]) + " ! rtpopuspay pt=96 ! udpsink "
                "host=127.0.0.1 port=%d sync=false async=false  udpsrc "
                "port=%d caps=%s ! rtpjitterbuffer name=jb latency=60 "
                "do-lost=true ! rtpopusdepay ! %s" % (tx, rx, RTPCAPS, OUT))
        call = Call(descs)
        match = "udp dport { %d, %d }" % (pa, pb)
        stats = rtp_stats
    else:
        tool = os.path.join(build, "tools", "wzp")
        port = free_udp_port()
        relay = "127.0.0.1:%d" % port
        # Relayed media rides the relay's media port (channel packets):
        # the loss applies there as on its QUIC port.
        media_port = free_udp_port()
        relay_proc = subprocess.Popen(
            [os.path.join(build, "tools", "wzp-relay"), "--listen", relay,
             "--media-listen", "127.0.0.1:%d" % media_port,
             "--probe-listen", "127.0.0.1:%d" % free_udp_port(),
             "--identity", os.path.join(tmp, "relay.key")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        keys = {k: os.path.join(tmp, k + ".key") for k in "ab"}
        for k in keys.values():
            if not os.path.exists(k):
                subprocess.run([tool, "keygen", k], check=True,
                               capture_output=True)
        fp = subprocess.run([tool, "fingerprint", keys["b"]], check=True,
                            capture_output=True,
                            text=True).stdout.split()[-1]
        policy = "relay-only" if system == "wzp-relay" else "auto"
        descs = {}
        for me, how in (("a", "peer=" + fp), ("b", "answer=auto")):
            common = ("session=%s-%s-%d relay=%s identity=%s %s "
                      "path-policy=%s" % (system, me, loss, relay, keys[me],
                                          how, policy))
            descs[me] = (ENC.format(f=FREQ[me]) + " ! wzpsink " + common +
                         "  wzpsrc name=src latency=60 " + common + " ! " +
                         OUT)
        call = Call(descs)
        match = "udp dport { %d, %d }" % (port, media_port)
        stats = wzp_stats
    try:
        call.start("b")
        call.run(1.0)
        call.start("a")
        call.run(2.0)               # call set up, jitter buffers settled
        if system == "wzp-direct":
            direct = call.run(8.0, until=lambda: all(
                s["path"] == "direct" for s in wzp_stats(call).values()))
            if not direct:
                raise RuntimeError("the call did not go direct: %s"
                                   % wzp_stats(call))
            call.run(1.0)
            ports = [p for p in own_udp_ports() if p != port]
            ports = "{ %s }" % ", ".join(map(str, ports))
            match = "udp sport %s udp dport %s" % (ports, ports)
        s0 = stats(call)
        nft_drop(match, loss)
        call.recording = True
        call.run(dur)
        call.recording = False
        s1 = stats(call)
        dropped = nft_dropped() if loss > 0 else 0
        nft_clear()
    finally:
        nft_clear()
        call.stop()
        if relay_proc:
            relay_proc.kill()
            relay_proc.wait()
    res = {"system": system, "loss": loss, "dropped": dropped,
           "rule": match if loss > 0 else ""}
    for k in ("packets-received", "lost", "concealed", "late"):
        res[k] = sum(s1[n][k] - s0[n][k] for n in s1)
    if system.startswith("wzp"):
        res["path"] = "/".join(s1[n]["path"] for n in ("a", "b"))
        res["path-changes"] = sum(s1[n]["path-changes"] - s0[n]["path-changes"]
                                  for n in s1)
    q = [analyse(call.audio[n], HEARS[n]) for n in ("a", "b")]
    nw = sum(x["windows"] for x in q) or 1
    res["windows"] = sum(x["windows"] for x in q)
    for k in ("tone_ok", "rms_ok", "rms_cv"):
        res[k] = sum(x[k] * x["windows"] for x in q) / nw
    return res


LABEL = {"wzp-relay": "wzp relay path", "wzp-direct": "wzp direct path",
         "rtp": "RTP/UDP floor"}


def summarize(rows, dur):
    out = ["| system | loss % | pkts dropped | frames received | lost | "
           "concealed | 20 ms windows | tone ±5 % | RMS ±3 dB | RMS CV | "
           "path |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
           "---: | --- |"]
    for r in rows:
        if "error" in r:
            out.append("| %s | %d | failed: %s | | | | | | | | |" % (
                LABEL[r["system"]], r["loss"], r["error"][:150]))
            continue
        out.append("| %s | %d | %d | %d | %d | %d | %d | %.1f %% | %.1f %% "
                   "| %.3f | %s |" % (
                       LABEL[r["system"]], r["loss"], r["dropped"],
                       r["packets-received"], r["lost"], r["concealed"],
                       r["windows"], 100 * r["tone_ok"], 100 * r["rms_ok"],
                       r["rms_cv"], r.get("path", "peer to peer")))
    rtp = {r["loss"]: r for r in rows
           if r["system"] == "rtp" and "error" not in r}
    out += ["", "Ratios vs the RTP floor at the same loss (tone and RMS: "
            "wzp share / RTP share; lost: wzp / RTP):", "",
            "| system | loss % | tone ±5 % / RTP | RMS ±3 dB / RTP | "
            "lost / RTP |", "| --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if r["system"] == "rtp" or "error" in r or r["loss"] not in rtp:
            continue
        b = rtp[r["loss"]]

        def ratio(x, y):
            if y:
                return "%.2f" % (x / y)
            return "1.00" if x == y else "%g vs 0" % x
        out.append("| %s | %d | %s | %s | %s |" % (
            LABEL[r["system"]], r["loss"], ratio(r["tone_ok"], b["tone_ok"]),
            ratio(r["rms_ok"], b["rms_ok"]), ratio(r["lost"], b["lost"])))
    out.append("\nWindow: %.0f s per call after the warm-up, both parties "
               "pooled (A hears 1000 Hz, B hears 440 Hz); one call at a "
               "time on loopback." % dur)
    return "\n".join(out)


def main():
    global Gst, GLib
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="the same 10 s calls (kept for run-all.sh)")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--loss", default="0,5,10,20")
    ap.add_argument("--systems", default="wzp-relay,wzp-direct,rtp")
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    prereqs.require("bench-loss", a.build)
    if os.geteuid() != 0 or not shutil.which("nft"):
        print("bench-loss: needs root and nft", file=sys.stderr)
        return 1
    os.environ["GST_PLUGIN_PATH"] = os.path.join(a.build, "gst") + (
        ":" + os.environ["GST_PLUGIN_PATH"]
        if os.environ.get("GST_PLUGIN_PATH") else "")
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst as _Gst, GLib as _GLib
    Gst, GLib = _Gst, _GLib
    Gst.init(None)
    if Gst.ElementFactory.find("wzpsrc") is None:
        print("bench-loss: wzpsrc not found in %s/gst" % a.build,
              file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="wzp-bench-loss-")
    rows = []
    try:
        for system in a.systems.split(","):
            for loss in [int(x) for x in a.loss.split(",")]:
                try:
                    r = row(system, loss, a.duration, a.build, tmp)
                except (RuntimeError, subprocess.CalledProcessError) as e:
                    r = {"system": system, "loss": loss, "error": str(e)}
                rows.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
    finally:
        nft_clear()
        shutil.rmtree(tmp, ignore_errors=True)
    md = summarize(rows, a.duration)
    print(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
