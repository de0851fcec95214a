#!/usr/bin/env python3
"""End-to-end: two gst-launch-1.0 pipelines call each other through a
wzp-relay process and record what they hear.

A sends a 440 Hz tone and records B; B answers, sends 1000 Hz and records
A.  After ~5 s both stop with EOS (-e); each recording is decoded to WAV
and the far end's frequency (+-5 %) and duration (>= 3 s) are checked
with a zero-crossing count (no numpy).

Exit 77 (meson: skipped) while wzp-relay or the call object is missing.

"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

BUILD = os.environ.get("WZP_BUILD_ROOT", "build")
SKIP = 77
RUN_S = 6.0


def log(*a):
    print(*a, flush=True)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fingerprint(identity, wzp_tool):
    """The fingerprint of an identity file, created if missing."""
    cmd = "fingerprint" if os.path.exists(identity) else "keygen"
    out = subprocess.run([wzp_tool, cmd, identity], capture_output=True,
                         text=True, check=True)
    out = out.stdout + out.stderr
    m = re.search(r"([0-9a-f]{4}(?::[0-9a-f]{4}){7})", out)
    if not m:
        raise RuntimeError("no fingerprint in: " + out)
    return m.group(1)


def tone_frequency(path):
    """Frequency from zero crossings of the middle of a 16-bit WAV, and
    its duration in seconds."""
    with wave.open(path, "rb") as w:
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        data = w.readframes(n)
    samples = struct.unpack("<%dh" % (len(data) // 2), data)[::ch]
    duration = len(samples) / rate
    # skip the first and last half second (setup, hang-up)
    body = samples[rate // 2: len(samples) - rate // 2]
    crossings = sum(1 for a, b in zip(body, body[1:]) if a < 0 <= b)
    return (crossings / (len(body) / rate) if body else 0.0), duration


def main():
    relay_bin = shutil.which("wzp-relay", path=os.path.join(BUILD, "tools"))
    wzp_tool = shutil.which("wzp", path=os.path.join(BUILD, "tools"))
    if not relay_bin or not wzp_tool:
        log("SKIP: tools/wzp-relay not built yet")
        return SKIP

    tmp = tempfile.mkdtemp(prefix="wzp-e2e-")
    procs = []
    try:
        port = free_udp_port()
        relay = "127.0.0.1:%d" % port
        relay_key = os.path.join(tmp, "relay.key")
        relay_cmd = [relay_bin, "--listen", relay]
        helptext = subprocess.run([relay_bin, "--help"], capture_output=True,
                                  text=True)
        if "--identity" in helptext.stdout + helptext.stderr:
            relay_cmd += ["--identity", relay_key]
        procs.append(subprocess.Popen(
            relay_cmd,
            stdout=open(os.path.join(tmp, "relay.log"), "w"),
            stderr=subprocess.STDOUT))
        time.sleep(0.5)

        a_key, b_key = os.path.join(tmp, "a.key"), os.path.join(tmp, "b.key")
        fingerprint(a_key, wzp_tool)
        b_fp = fingerprint(b_key, wzp_tool)
        a_ogg, b_ogg = os.path.join(tmp, "a.ogg"), os.path.join(tmp, "b.ogg")

        def pipeline(key, freq, ogg, peer):
            common = "relay=%s identity=%s session=s" % (relay, key)
            if peer:
                common += " peer=" + peer
            else:
                common += " answer=auto"
            return ["gst-launch-1.0", "-e",
                    "audiotestsrc", "is-live=true", "freq=%d" % freq,
                    "volume=0.5", "wave=sine", "!",
                    "audio/x-raw,rate=48000,channels=1", "!",
                    "opusenc", "!", "wzpsink"] + common.split() + [
                    "wzpsrc"] + common.split() + [
                    "!", "oggmux", "!", "filesink", "location=" + ogg]

        b = subprocess.Popen(pipeline(b_key, 1000, b_ogg, None),
                             stdout=open(os.path.join(tmp, "b.log"), "w"),
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(b)
        time.sleep(1.0)
        a = subprocess.Popen(pipeline(a_key, 440, a_ogg, b_fp),
                             stdout=open(os.path.join(tmp, "a.log"), "w"),
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(a)
        time.sleep(RUN_S)
        for p in (a, b):
            p.send_signal(signal.SIGINT)        # -e: EOS, then exit
        for p in (a, b):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                raise

        ok = True
        for name, ogg, want in (("A", a_ogg, 1000), ("B", b_ogg, 440)):
            wav = ogg[:-4] + ".wav"
            subprocess.run(["gst-launch-1.0", "-q", "filesrc",
                            "location=" + ogg, "!", "oggdemux", "!",
                            "opusdec", "!", "audioconvert", "!",
                            "audio/x-raw,format=S16LE", "!", "wavenc", "!",
                            "filesink", "location=" + wav], check=True)
            freq, dur = tone_frequency(wav)
            good = abs(freq - want) <= want * 0.05 and dur >= 3.0
            log("%s heard %.1f Hz for %.2f s (want %d Hz, >= 3 s): %s"
                % (name, freq, dur, want, "ok" if good else "FAIL"))
            ok = ok and good
        if not ok:
            for f in ("relay.log", "a.log", "b.log"):
                log("---", f)
                log(open(os.path.join(tmp, f)).read()[-3000:])
        return 0 if ok else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
