#!/usr/bin/env python3
"""Runs real calls through the NAT lab: a wzp-relay in the relay namespace,
`wzp call` parties in the host namespaces (shared by tests/nat/test_calls.py
and bench/bench-nat-setup.py).

    with NatLab("home", "home", delay_ms=20) as lab:
        h = CallHarness(lab, workdir)
        h.start_relay()
        h.start_callee()                 # B: answers automatically
        h.start_caller(hangup_after=6)   # A: calls B, hangs up after 6 s
        h.wait_stderr("a", "path direct")
        a, b = h.finish()                # the two JSON reports

Every party's stderr (WZP_DEBUG=wzppath:4 by default) is kept in workdir;
h.logs() returns their tails for failure messages.  Stdlib only.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import natlab  # noqa: E402

RELAY_PORT = 4433
FRAMES_PER_S = 50


def find_tool(name, env_var):
    """Path of a built tool: $env_var, else build*/tools/NAME."""
    p = os.environ.get(env_var)
    if p:
        return p
    top = os.path.dirname(os.path.dirname(HERE))
    for build in ("build", "_build", "builddir"):
        p = os.path.join(top, build, "tools", name)
        if os.access(p, os.X_OK):
            return p
    raise FileNotFoundError("%s not found: build it or set %s" % (name, env_var))


def path_at(report, mono_ms):
    """The path a `wzp call` report says was in effect at absolute
    CLOCK_MONOTONIC time mono_ms (None before the first report)."""
    t0 = report.get("active_mono_ms")
    if t0 is None:
        return None
    cur = None
    for at, path, _reason in report["paths"]:
        if t0 + at <= mono_ms:
            cur = path
    return cur


def path_changes(report, since_ms=0):
    """[(at_ms, path, reason)] at or after since_ms (ms since active)."""
    return [(at, p, r) for at, p, r in report["paths"] if at >= since_ms]


class CallHarness:
    def __init__(self, lab, workdir, debug="wzppath:4,wzpcall:4"):
        self.lab = lab
        self.workdir = workdir
        self.wzp = find_tool("wzp", "WZP_TOOL")
        self.relay_bin = find_tool("wzp-relay", "WZP_RELAY")
        self.env = dict(os.environ)
        if debug:
            self.env["WZP_DEBUG"] = debug
        self.procs = {}
        self.errfiles = {}
        self.keys = {}
        self.fps = {}
        for who in ("relay", "a", "b"):
            self.add_identity(who)

    def add_identity(self, who):
        """A new identity named who (a key file in workdir); returns its
        fingerprint."""
        key = os.path.join(self.workdir, who + ".key")
        if os.path.exists(key):
            os.unlink(key)
        r = subprocess.run([self.wzp, "keygen", key], capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("wzp keygen failed: %s" % r.stderr)
        self.keys[who] = key
        self.fps[who] = r.stdout.strip().split()[-1]
        return self.fps[who]

    def pick_dialer(self, dialer, other):
        """New identities for dialer and other until dialer's fingerprint is
        the smaller: with no symmetric NAT on either side, the smaller
        fingerprint dials the direct path (docs/PATH.md, Roles)."""
        for _ in range(200):
            self.add_identity(dialer)
            self.add_identity(other)
            if self.fps[dialer].lower() < self.fps[other].lower():
                return
        raise RuntimeError("could not order two fingerprints")

    @property
    def relay(self):
        return "%s:%d" % (self.lab.relay_addr, RELAY_PORT)

    def _popen(self, who, ns, argv):
        errpath = os.path.join(self.workdir, who + ".log")
        err = open(errpath, "w")
        self.errfiles[who] = errpath
        p = self.lab.popen(ns, argv, stdout=subprocess.PIPE, stderr=err,
                           text=True, env=self.env, start_new_session=True)
        err.close()
        self.procs[who] = p
        return p

    def start_relay(self, timeout=5):
        p = self._popen("relay", "relay", [
            self.relay_bin,
            "--listen", self.relay,
            "--probe-listen", "%s:%d" % (self.lab.relay_addr2, RELAY_PORT),
            "--media-listen", "%s:%d" % (self.lab.relay_addr,
                                         natlab.RELAY_MEDIA_PORT),
            "--identity", self.keys["relay"]])
        line = p.stdout.readline()      # "wzp-relay ... listening on ..."
        if "listening" not in line:
            raise RuntimeError("wzp-relay did not start: %r\n%s" % (
                line, self.log_tail("relay")))
        return p

    def _call_argv(self, who, extra):
        return [self.wzp, "call", "-r", self.relay, "-i", self.keys[who],
                "--relay-fingerprint", self.fps["relay"]] + list(extra)

    def start_party(self, who, ns, extra=()):
        """`wzp call` as identity who in namespace ns ('a' or 'b')."""
        return self._popen(who, ns, self._call_argv(who, extra))

    def start_callee(self, extra=(), wait=True):
        """B: waits for the call and answers it; ends when A hangs up."""
        p = self._popen("b", "b", self._call_argv("b", extra))
        if wait:
            self.wait_stderr("b", r"^wzp call: waiting", timeout=10)
        return p

    def start_caller(self, hangup_after=6, extra=()):
        """A: calls B, hangs up hangup_after s after the call is active."""
        return self._popen("a", "a", self._call_argv("a", [
            "-p", self.fps["b"], "--hangup-after", str(hangup_after),
            "--timeout", "30"] + list(extra)))

    def stderr_text(self, who):
        with open(self.errfiles[who], errors="replace") as f:
            return f.read()

    def wait_stderr(self, who, pattern, timeout=10, count=1, poll=0.01):
        """Waits until pattern (regex, multiline) matched count times in who's
        stderr; returns the monotonic time (s) it was seen."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            if len(rx.findall(self.stderr_text(who))) >= count:
                return time.monotonic()
            p = self.procs[who]
            if p.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("%s: no %r within %.1f s (exit %s)\n%s" % (
                    who, pattern, timeout, p.poll(), self.logs()))
            time.sleep(poll)

    def finish(self, timeout=30):
        """Waits for A, then B; returns both JSON reports (B gets SIGTERM —
        a hang-up — if it is still there 5 s after A)."""
        return self.report("a", timeout), self.report("b", 5)

    def report(self, who, timeout):
        """Waits up to timeout s for who to end (then SIGTERM, a hang-up);
        returns its JSON report."""
        p = self.procs[who]
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            try:
                out, _ = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
        lines = [l for l in (out or "").splitlines() if l.startswith("{")]
        if not lines:
            raise AssertionError("%s printed no JSON (exit %s)\n%s" % (
                who, p.returncode, self.logs()))
        return json.loads(lines[-1])

    def stop(self):
        for who, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for who, p in self.procs.items():
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()

    def log_tail(self, who, lines=40):
        try:
            text = self.stderr_text(who)
        except (KeyError, OSError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def logs(self, lines=40, names=None):
        """The tails of every party's stderr (or only of names)."""
        return "\n".join("--- %s stderr (last %d lines) ---\n%s" % (
            who, lines, self.log_tail(who, lines)) for who in self.errfiles
            if names is None or who in names)
