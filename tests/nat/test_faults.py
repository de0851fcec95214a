#!/usr/bin/env python3
"""Calls that never fail silently, through the NAT lab (meson suite
"nat"): wzp-relay in the relay namespace, `wzp call` parties behind NATs,
20 ms one way on every link.

  * TestRelayRestartRelayPath (home / relayonly: the relay carries the
    media): kill -9 of the relay mid-call, restarted 2 s later on the same
    address and identity.  Both sides say the relay was lost, re-register,
    resume the call's relay leg, and media is back on both sides within
    5 s of the restart.
  * TestRelayRestartDirect (home / home: direct): the same kill and
    restart does not disturb the media at all; the relay leg resumes, and
    a hang-up afterwards reaches the peer.  A hang-up while the relay is
    still dead reaches it over the direct path.
  * TestPartyKilled: SIGKILL of one party mid-call (relay path and direct
    path): the other one's call ends with peer-gone within 5 s.
  * TestRtt: the reported rtt_ms is the lab's RTT (2 x 20 ms) within 20 %,
    on the direct path and on the relay path.

One meson test per class.  Needs root: otherwise exit 77 (skipped).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import natlab  # noqa: E402
from natlab import NatLab  # noqa: E402
from callharness import CallHarness, find_tool, path_at  # noqa: E402

DELAY_MS = 20
LAB_RTT_MS = 2 * DELAY_MS


class FaultCase(unittest.TestCase):
    KINDS = ("home", "home")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wzp-natfault-")
        self.lab = NatLab(*self.KINDS, delay_ms=DELAY_MS)
        self.lab.up()
        self.h = CallHarness(self.lab, self.tmp,
                             debug="wzppath:4,wzpcall:4,wzpsignal:4")
        self.h.start_relay()

    def tearDown(self):
        self.h.stop()
        self.lab.down()
        if os.environ.get("WZP_KEEP_LOGS"):
            print("logs kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_call(self, hangup_after=30, extra=()):
        self.h.start_callee(extra=extra)
        self.h.start_caller(hangup_after=hangup_after, extra=extra)
        t = self.h.wait_stderr("a", r"^wzp call: active$", timeout=10)
        self.h.wait_stderr("b", r"^wzp call: active$", timeout=10)
        return t

    def kill_relay(self):
        p = self.h.procs["relay"]
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        return time.monotonic()

    def restart_relay(self):
        self.h.start_relay()
        return time.monotonic()

    def hang_up(self, who):
        """SIGTERM: `wzp call` hangs up and prints its report."""
        self.h.procs[who].send_signal(signal.SIGTERM)

    def msg(self):
        return "\n" + self.h.logs(lines=60)

    def resumed_at(self, report, after_ms):
        """Absolute monotonic ms of the first frame after a gap that ended
        after after_ms, or None (the gap's end is the frame that came)."""
        t0 = report["active_mono_ms"]
        ends = [t0 + at for at, gap in report["gaps"] if t0 + at > after_ms]
        return min(ends, default=None)


class TestRelayRestartRelayPath(FaultCase):
    KINDS = ("home", "relayonly")

    def test_restart(self):
        self.start_call()
        time.sleep(1.5)
        t_kill = self.kill_relay()
        time.sleep(2.0)
        t_up = self.restart_relay()
        for who in ("a", "b"):
            self.h.wait_stderr(who, r"^wzp call: relay lost", timeout=8)
            self.h.wait_stderr(who, r"^wzp call: relay resumed", timeout=8)
        time.sleep(1.5)
        self.hang_up("a")
        a, b = self.h.finish()
        msg = self.msg()
        lines = []
        for n, r in (("A", a), ("B", b)):
            self.assertEqual(r["state"], "ended", n + msg)
            self.assertIsNone(r["error"], n + msg)
            self.assertEqual(r["final_path"], "relay", n + msg)
            self.assertEqual(r["relay_losses"], 1, n + msg)
            states = [s for _, s, _ in r["relay_states"]]
            self.assertIn("lost", states, n + msg)
            self.assertIn("resumed", states, n + msg)
            # The outage shows as one long gap, and media came back
            # within 5 s of the restart.
            back = self.resumed_at(r, t_kill * 1000)
            self.assertIsNotNone(back, "%s: no media after the outage: %s%s"
                                 % (n, r["gaps"], msg))
            after = back - t_up * 1000
            lines.append("%s: media back %.0f ms after the restart (outage "
                         "gap %s ms), relay states %s" % (
                             n, after, max(g for _, g in r["gaps"]), states))
            self.assertLess(after, 5000, n + msg)
        print("\n%s\n  %s" % (self.id(), "\n  ".join(lines)))


class TestRelayRestartDirect(FaultCase):
    KINDS = ("home", "home")

    def wait_direct(self):
        self.h.wait_stderr("a", r"^wzp call: path direct", timeout=8)
        self.h.wait_stderr("b", r"^wzp call: path direct", timeout=8)
        time.sleep(0.5)

    def test_restart(self):
        self.start_call()
        self.wait_direct()
        t_kill = self.kill_relay()
        time.sleep(2.0)
        self.restart_relay()
        for who in ("a", "b"):
            self.h.wait_stderr(who, r"^wzp call: relay lost", timeout=8)
            self.h.wait_stderr(who, r"^wzp call: relay resumed", timeout=8)
        time.sleep(1.0)
        t_hangup = time.monotonic()
        self.hang_up("a")
        a, b = self.h.finish()
        msg = self.msg()
        for n, r in (("A", a), ("B", b)):
            self.assertEqual(r["state"], "ended", n + msg)
            self.assertIsNone(r["error"], n + msg)
            # No gap at all while the relay was away: the direct path
            # carried everything.
            t0 = r["active_mono_ms"]
            gaps = [g for at, g in r["gaps"] if t0 + at > t_kill * 1000 and
                    t0 + at < t_hangup * 1000]
            self.assertEqual(gaps, [], "%s: gaps during the outage%s" % (n,
                                                                         msg))
            # Direct until the hang-up (which closes the direct
            # connection: "at" is in whole ms, so leave a margin).
            self.assertEqual([p for at, p, _why in r["paths"]
                              if t0 + at < t_hangup * 1000 - 50],
                             ["relay", "direct"], n + msg)
        # The hang-up reached B.
        self.assertLess(b["active_mono_ms"] + b["end_ms"] - t_hangup * 1000,
                        2000, msg)
        print("\n%s: no gap while the relay restarted; hang-up reached B "
              "%.0f ms later" % (self.id(), b["active_mono_ms"] + b["end_ms"]
                                 - t_hangup * 1000))

    def test_hangup_while_relay_down(self):
        self.start_call()
        self.wait_direct()
        self.kill_relay()
        for who in ("a", "b"):
            self.h.wait_stderr(who, r"^wzp call: relay lost", timeout=8)
        t_hangup = time.monotonic()
        self.hang_up("a")
        a, b = self.h.finish()
        msg = self.msg()
        self.assertEqual(b["state"], "ended", msg)
        self.assertIsNone(b["error"], msg)
        took = b["active_mono_ms"] + b["end_ms"] - t_hangup * 1000
        self.assertLess(took, 2000, msg)
        self.h.wait_stderr("b", r"ended the call \(hangup\) over the direct "
                           r"path", timeout=1)
        print("\n%s: with the relay dead, the hang-up reached B over the "
              "direct path in %.0f ms" % (self.id(), took))


class TestPartyKilled(FaultCase):
    KINDS = ("home", "home")

    def killed(self, extra, expect_path):
        self.start_call(extra=extra)
        if expect_path == "direct":
            self.h.wait_stderr("a", r"^wzp call: path direct", timeout=8)
        time.sleep(1.0)
        p = self.h.procs["b"]
        p.send_signal(signal.SIGKILL)
        t_kill = time.monotonic()
        t_end = self.h.wait_stderr("a", r"^wzp call: ended: .*peer-gone",
                                   timeout=15)
        a = self.h.report("a", 10)
        msg = self.msg()
        self.assertEqual(a["state"], "ended", msg)
        self.assertIsNone(a["error"], msg)
        print("\n%s (%s path): peer-gone %.0f ms after the kill" % (
            self.id(), expect_path, (t_end - t_kill) * 1000))
        self.assertLess(t_end - t_kill, 5.0, msg)

    def test_relay_path(self):
        self.killed(["--path-policy", "relay-only"], "relay")

    def test_direct_path(self):
        self.killed([], "direct")


class TestRtt(FaultCase):
    """rtt_ms within 20 % of the lab's 40 ms, direct and relayed."""
    KINDS = ("home", "home")

    def rtt_of_call(self, extra, path):
        self.start_call(hangup_after=4, extra=extra)
        a, b = self.h.finish()
        msg = self.msg()
        end = a["active_mono_ms"] + a["end_ms"]
        for n, r in (("A", a), ("B", b)):
            # The path in effect before the hang-up (which closes the
            # direct connection).
            self.assertEqual(path_at(r, end - 300), path, n + msg)
            err = abs(r["rtt_ms"] - LAB_RTT_MS) / LAB_RTT_MS
            print("%s %s: rtt_ms %.1f (lab %d ms, %+.0f %%)" % (
                path, n, r["rtt_ms"], LAB_RTT_MS,
                100.0 * (r["rtt_ms"] - LAB_RTT_MS) / LAB_RTT_MS))
            self.assertLessEqual(err, 0.2, "%s: rtt_ms %.1f%s" % (
                n, r["rtt_ms"], msg))

    def test_direct(self):
        self.rtt_of_call([], "direct")

    def test_relay(self):
        self.rtt_of_call(["--path-policy", "relay-only"], "relay")


def main():
    if os.geteuid() != 0:
        print("SKIP: the NAT fault tests need root (network namespaces, "
              "nftables)")
        return 77
    missing = natlab.missing_tools()
    if missing:
        print("SKIP: missing tools: %s" % ", ".join(missing))
        return 77
    try:
        natlab.find_bridge()
        find_tool("wzp", "WZP_TOOL")
        find_tool("wzp-relay", "WZP_RELAY")
    except (natlab.NatLabError, FileNotFoundError) as e:
        print("SKIP: %s" % e)
        return 77
    if not os.path.exists("/proc/net/nf_conntrack") and shutil.which("modprobe"):
        subprocess.run(["modprobe", "nf_conntrack"], capture_output=True)
    natlab.cleanup_all()
    signal.signal(signal.SIGTERM,
                  lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    prog = unittest.main(exit=False)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
