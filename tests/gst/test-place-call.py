#!/usr/bin/python3
"""examples/place-call.py (a Python app on libwzp's introspection data)
calls a gst-launch-1.0 pipeline of wzpsink + wzpsrc through a wzp-relay
process: it must hear the pipeline's 1000 Hz tone, record it to WAV, hang
up after --duration and exit 0.

    test-place-call.py BUILD_DIR SOURCE_DIR
"""
import os
import struct
import subprocess
import sys
import wave

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from wzpprocs import WzpProcs  # noqa: E402

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
    with WzpProcs(build) as w:
        address = w.start_relay()
        b_fp = w.keygen("b.key")
        common = ["relay=" + address, "identity=" + w.path("b.key"),
                  "session=b"]
        b_log, a_log = w.path("b.log"), w.path("a.log")
        w.spawn(["gst-launch-1.0", "-m", "audiotestsrc", "is-live=true",
                 "freq=1000", "volume=0.5", "!", "opusenc", "!", "wzpsink"]
                + common + ["wzpsrc"] + common + ["answer=auto", "!",
                                                  "fakesink"],
                stdout=open(b_log, "w"), stderr=subprocess.STDOUT)
        # The pipeline registers first (its wzp-call-state message says
        # so), or the call finds it offline.
        w.wait_for_line(b_log, r"wzp-call-state, state=\(string\)waiting")
        wav = w.path("a.wav")
        a = subprocess.run(
            [sys.executable, os.path.join(source, "examples", "place-call.py"),
             "--relay", address, "--identity", w.path("a.key"), "--peer",
             b_fp, "--tone", "440", "--record", wav, "--duration",
             str(DURATION_S)],
            stdout=open(a_log, "w"), stderr=subprocess.STDOUT,
            timeout=DURATION_S + 30)
        if a.returncode != 0:
            fail("place-call.py exited %d" % a.returncode, a_log, b_log)
        freq, duration = tone(wav)
        print("place-call.py heard %.1f Hz for %.2f s" % (freq, duration))
        if abs(freq - 1000) > 50 or duration < DURATION_S - 1.5:
            fail("expected 1000 Hz for about %d s" % DURATION_S, a_log, b_log)
        return 0


if __name__ == "__main__":
    sys.exit(main())
