#!/usr/bin/env python3
"""A relay cluster on one machine: its own redis-server (a unix socket in a
temporary directory, no persistence) and wzp-relay nodes on loopback, and
`wzp call` parties registered at chosen nodes (tests/cluster/test_cluster.py,
bench/bench-cluster.py, examples/cluster.sh).

    c = Cluster(workdir)
    c.start_redis()
    a, b = c.start_relay("a"), c.start_relay("b")
    c.wait_nodes(2)
    c.party("bob", ["b"])                          # waits for calls at b
    c.party("alice", ["a"], peer="bob", hangup_after=3)
    alice, bob = c.report("alice"), c.report("bob")
    c.stop()

A party's relays are given in order (--relay-order listed): the first is
where it registers, the others where it moves when that one is lost.
Everything a process writes to stderr is kept in workdir; c.logs() returns
the tails for failure messages.  Stdlib only.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

BANNER = re.compile(r"^wzp-relay \S+ fingerprint ((?:[0-9a-f]{4}:){7}[0-9a-f]{4})"
                    r" listening on (\S+) \(probe (\S+)(?:, media (\S+), \d+ "
                    r"workers?)?(?:, metrics http://(\S+)/metrics)?\)$")
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")


def find_tool(name, env_var):
    """Path of a built tool: $env_var, else build*/tools/NAME."""
    p = os.environ.get(env_var)
    if p:
        return p
    for build in ("build", "_build", "builddir"):
        p = os.path.join(TOP, build, "tools", name)
        if os.access(p, os.X_OK):
            return p
    raise FileNotFoundError("%s not found: build it or set %s" % (name, env_var))


class Relay:
    def __init__(self, name, proc, fp, addr, metrics, errpath):
        self.name = name
        self.proc = proc
        self.fp = fp
        self.addr = addr
        self.metrics_addr = metrics
        self.errpath = errpath

    def metrics(self):
        """The node's Prometheus metrics as {name_with_labels: value}."""
        with urllib.request.urlopen("http://%s/metrics" % self.metrics_addr,
                                    timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out


class Cluster:
    def __init__(self, workdir, relay_args=(), debug="wzprelay:5",
                 party_debug="wzpcall:4,wzpsignal:4"):
        self.workdir = workdir
        self.wzp = find_tool("wzp", "WZP_TOOL")
        self.relay_bin = find_tool("wzp-relay", "WZP_RELAY")
        self.redis_bin = shutil.which("redis-server")
        self.relay_args = list(relay_args)
        self.debug = debug
        self.env = dict(os.environ)
        if party_debug:
            self.env["WZP_DEBUG"] = party_debug
        self.socket = os.path.join(workdir, "redis.sock")
        self.redis = None
        self.relays = {}
        self.parties = {}
        self.errfiles = {}
        self.keys = {}
        self.fps = {}

    # --- redis --------------------------------------------------------------

    def start_redis(self, timeout=5):
        """redis-server on a unix socket in workdir: no TCP port, no
        snapshot, no append-only file, nothing left behind."""
        if self.redis_bin is None:
            raise FileNotFoundError("redis-server not found (Debian package "
                                    "redis-server)")
        err = open(os.path.join(self.workdir, "redis.log"), "a")
        self.redis = subprocess.Popen(
            [self.redis_bin, "--port", "0", "--unixsocket", self.socket,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--dir", self.workdir, "--daemonize", "no",
             "--loglevel", "warning"], stdout=err, stderr=err,
            start_new_session=True)
        err.close()
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start:\n%s" %
                                   self.tail(os.path.join(self.workdir,
                                                          "redis.log")))
            time.sleep(0.02)
        return self.redis

    def kill_redis(self):
        """SIGKILL: Redis vanishes with everything it held."""
        self.redis.send_signal(signal.SIGKILL)
        self.redis.wait()
        try:
            os.unlink(self.socket)
        except FileNotFoundError:
            pass
        return time.monotonic()

    def redis_cli(self, *args):
        r = subprocess.run(["redis-cli", "-s", self.socket] + list(args),
                           capture_output=True, text=True, timeout=10)
        return r.stdout

    @property
    def url(self):
        return "unix:" + self.socket

    # --- relays -------------------------------------------------------------

    def start_relay(self, name, args=(), timeout=10):
        key = os.path.join(self.workdir, "relay-%s.key" % name)
        errpath = os.path.join(self.workdir, "relay-%s.log" % name)
        err = open(errpath, "w")
        argv = [self.relay_bin, "--listen", "127.0.0.1:0",
                "--probe-listen", "127.0.0.1:0", "--identity", key,
                "--metrics", "127.0.0.1:0", "--redis", self.url,
                "--debug", self.debug] + self.relay_args + list(args)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                             text=True, start_new_session=True)
        err.close()
        self.errfiles["relay-" + name] = errpath
        line = p.stdout.readline()
        m = BANNER.match(line.strip())
        if m is None:
            p.kill()
            raise RuntimeError("wzp-relay %s did not start: %r\n%s" % (
                name, line, self.tail(errpath)))
        r = Relay(name, p, m.group(1), m.group(2), m.group(5), errpath)
        self.relays[name] = r
        return r

    def wait_nodes(self, n, timeout=10):
        """Until every running node sees n nodes (itself included)."""
        deadline = time.monotonic() + timeout
        while True:
            seen = [r.metrics().get("wzp_relay_cluster_nodes", 0)
                    for r in self.relays.values() if r.proc.poll() is None]
            if seen and all(s == n for s in seen):
                return
            if time.monotonic() > deadline:
                raise AssertionError("nodes see %s, not %d\n%s" % (
                    seen, n, self.logs()))
            time.sleep(0.1)

    def kill_relay(self, name):
        p = self.relays[name].proc
        p.send_signal(signal.SIGKILL)
        p.wait()
        return time.monotonic()

    # --- parties ------------------------------------------------------------

    def identity(self, who):
        if who not in self.keys:
            key = os.path.join(self.workdir, who + ".key")
            r = subprocess.run([self.wzp, "keygen", key], capture_output=True,
                               text=True, timeout=10)
            if r.returncode != 0:
                raise RuntimeError("wzp keygen failed: %s" % r.stderr)
            self.keys[who] = key
            self.fps[who] = r.stdout.strip().split()[-1]
        return self.fps[who]

    def relay_list(self, names):
        return ",".join(self.relays[n].addr for n in names)

    def party(self, who, relays, peer=None, policy="relay-only",
              hangup_after=None, duration=None, answer=None, extra=(),
              wait=True, timeout=20, name=None):
        """`wzp call` as who, registering at relays[0] (then the others in
        order); with peer it calls peer, else it waits for calls.  With
        wait, returns once it is registered (waiting) or ringing.  The
        process (and its log) is called name, by default who."""
        self.identity(who)
        name = name or who
        argv = [self.wzp, "call", "-r", self.relay_list(relays),
                "--relay-order", "listed", "-i", self.keys[who],
                "--path-policy", policy, "--timeout", str(timeout)]
        if peer:
            argv += ["-p", self.identity(peer)]
        if hangup_after is not None:
            argv += ["--hangup-after", str(hangup_after)]
        if duration is not None:
            argv += ["--duration", str(duration)]
        if answer:
            argv += ["--answer", answer]
        argv += list(extra)
        errpath = os.path.join(self.workdir, name + ".log")
        err = open(errpath, "w")
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err,
                             text=True, env=self.env, start_new_session=True)
        err.close()
        self.parties[name] = p
        self.errfiles[name] = errpath
        if wait:
            self.wait_log(name, r"^wzp call: (waiting|ringing|active)",
                          timeout=10)
        return p

    def log_text(self, who):
        with open(self.errfiles[who], errors="replace") as f:
            return f.read()

    def wait_log(self, who, pattern, timeout=10, count=1, poll=0.02):
        """Until pattern (regex, multiline) matched count times in who's
        stderr; returns the monotonic time it was seen."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        proc = self.parties.get(who) or self.relays[who[6:]].proc
        while True:
            if len(rx.findall(self.log_text(who))) >= count:
                return time.monotonic()
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("%s: no %r within %.1f s (exit %s)\n%s" %
                                     (who, pattern, timeout, proc.poll(),
                                      self.logs()))
            time.sleep(poll)

    def hang_up(self, who):
        """SIGTERM: `wzp call` hangs up and prints its report."""
        self.parties[who].send_signal(signal.SIGTERM)

    def report(self, who, timeout=30):
        """Waits up to timeout s for who to end (then SIGTERM, a hang-up);
        returns its JSON report with its exit status as "exit"."""
        p = self.parties[who]
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
        r = json.loads(lines[-1])
        r["exit"] = p.returncode
        return r

    # --- the end ------------------------------------------------------------

    def stop(self):
        """Stops everything; returns the sanitizer reports found in the
        relays' logs (none is expected)."""
        for p in self.parties.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.parties.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()
        for r in self.relays.values():
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGINT)
        for r in self.relays.values():
            try:
                r.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait()
            r.proc.stdout.close()
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait(timeout=10)
        reports = []
        for name, path in self.errfiles.items():
            with open(path, errors="replace") as f:
                if SANITIZER_REPORT.search(f.read()):
                    reports.append(name)
        return reports

    @staticmethod
    def tail(path, lines=40):
        try:
            with open(path, errors="replace") as f:
                return "\n".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    def logs(self, lines=40, names=None):
        return "\n".join("--- %s (last %d lines) ---\n%s" % (
            who, lines, self.tail(path, lines))
            for who, path in self.errfiles.items()
            if names is None or who in names)


def gap_end_after(report, mono_ms):
    """Absolute monotonic ms of the first frame after the longest gap that
    ended after mono_ms, or None (no such gap)."""
    t0 = report.get("active_mono_ms")
    if t0 is None:
        return None
    ends = [t0 + at for at, _gap in report["gaps"] if t0 + at > mono_ms]
    return min(ends, default=None)


def gaps_between(report, start_ms, end_ms):
    """[(end_mono_ms, gap_ms)] of the gaps that overlap [start_ms, end_ms]."""
    t0 = report.get("active_mono_ms")
    if t0 is None:
        return []
    return [(t0 + at, gap) for at, gap in report["gaps"]
            if t0 + at >= start_ms and t0 + at - gap <= end_ms]


def state_times(report, state):
    """Absolute monotonic ms at which the relay state became state."""
    t0 = report["start_mono_us"] / 1000.0
    return [t0 + ms for ms, s, _why in report["relay_states"] if s == state]
