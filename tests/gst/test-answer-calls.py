#!/usr/bin/python3
"""examples/answer-calls ends with exit status 1 after an error.

It registers and waits for calls; then another client registers with the
same identity, which takes over: answer-calls gets the error "This
identity registered elsewhere" and must exit 1 (it used to exit 0).

    test-answer-calls.py BUILD_DIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from wzpprocs import WzpProcs  # noqa: E402


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def main():
    build = sys.argv[1]
    with WzpProcs(build) as w:
        address = w.start_relay()
        key = w.path("b.key")
        app = w.spawn(
            [os.path.join(build, "examples", "answer-calls"), "--relay",
             address, "--identity", key, "--source",
             "audiotestsrc is-live=true", "--sink", "fakesink"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Registered ("call waiting"): the other client that comes next
        # then takes over from it, not the other way round.
        for line in app.stdout:
            if line.startswith("call waiting"):
                break
        else:
            fail("answer-calls did not register: %s" % app.stderr.read())
        # The same identity from elsewhere takes over.
        w.spawn([w.tool("wzp"), "call", "-r", address, "-i", key],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            out, err = app.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            fail("answer-calls did not end after the error")
        print("answer-calls: exit %d, %s" % (
            app.returncode, err.strip().splitlines()[-1] if err.strip()
            else ""))
        if app.returncode != 1 or "registered elsewhere" not in err:
            fail("expected exit 1 and the error, got %d: %s" % (
                app.returncode, err))
        return 0


if __name__ == "__main__":
    sys.exit(main())
