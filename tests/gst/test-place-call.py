#!/usr/bin/python3
"""examples/place-call.py (a Python app on libwzp's introspection data)
calls a gst-launch-1.0 pipeline of wzpsink + wzpsrc through a wzp-relay
process: it must hear the pipeline's 1000 Hz tone, record it to WAV, hang
up after --duration and exit 0.

    test-place-call.py BUILD_DIR SOURCE_DIR
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import wave

DURATION_S = 4


def fail(msg, *logs):
    print("FAIL:", msg, flush=True)
    for name in logs:
        if os.path.exists(name):
            print("---", name)
            print(open(name).read()[-3000:])
    sys.exit(1)


def tone(path):
    """Frequency (zero crossings) and duration of a 16-bit WAV."""
    with wave.open(path, "rb") as w:
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        data = w.readframes(n)
    samples = struct.unpack("<%dh" % (len(data) // 2), data)[::ch]
    body = samples[rate // 2: len(samples) - rate // 2]
    crossings = sum(1 for a, b in zip(body, body[1:]) if a < 0 <= b)
    return (crossings / (len(body) / rate) if body else 0.0), n / rate


def main():
    build, source = sys.argv[1], sys.argv[2]
    tool = os.path.join(build, "tools", "wzp")
    procs = []
    with tempfile.TemporaryDirectory(prefix="wzp-place-call-") as tmp:
        try:
            relay = subprocess.Popen(
                [os.path.join(build, "tools", "wzp-relay"), "--listen",
                 "127.0.0.1:0", "--probe-listen", "none", "--identity",
                 os.path.join(tmp, "relay.key")],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(relay)
            m = re.search(r" listening on (\S+)", relay.stdout.readline())
            if not m:
                fail("wzp-relay did not start")
            address = m.group(1)
            b_key = os.path.join(tmp, "b.key")
            out = subprocess.run([tool, "keygen", b_key], capture_output=True,
                                 text=True, check=True)
            b_fp = re.search(r"([0-9a-f]{4}(?::[0-9a-f]{4}){7})",
                             out.stdout + out.stderr).group(1)
            common = ["relay=" + address, "identity=" + b_key, "session=b"]
            b_log = os.path.join(tmp, "b.log")
            procs.append(subprocess.Popen(
                ["gst-launch-1.0", "audiotestsrc", "is-live=true",
                 "freq=1000", "volume=0.5", "!", "opusenc", "!", "wzpsink"]
                + common + ["wzpsrc"] + common + ["answer=auto", "!",
                                                  "fakesink"],
                stdout=open(b_log, "w"), stderr=subprocess.STDOUT))

            wav = os.path.join(tmp, "a.wav")
            a_log = os.path.join(tmp, "a.log")
            # The pipeline registers first, or the call finds it offline.
            time.sleep(1.0)
            a = subprocess.run(
                [sys.executable,
                 os.path.join(source, "examples", "place-call.py"),
                 "--relay", address, "--identity",
                 os.path.join(tmp, "a.key"), "--peer", b_fp, "--tone", "440",
                 "--record", wav, "--duration", str(DURATION_S)],
                stdout=open(a_log, "w"), stderr=subprocess.STDOUT,
                timeout=DURATION_S + 30)
            if a.returncode != 0:
                fail("place-call.py exited %d" % a.returncode, a_log, b_log)
            freq, duration = tone(wav)
            print("place-call.py heard %.1f Hz for %.2f s" % (freq, duration))
            if abs(freq - 1000) > 50 or duration < DURATION_S - 1.5:
                fail("expected 1000 Hz for about %d s" % DURATION_S, a_log,
                     b_log)
            return 0
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


if __name__ == "__main__":
    sys.exit(main())
