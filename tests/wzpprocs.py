"""What the Python tests that run wzp programs share: a wzp-relay process
on a free port, identities, and killing what is left at the end.

    with WzpProcs(build_dir) as w:
        address = w.start_relay()
        fp = w.keygen("b.key")          # a file in w.tmp
        p = w.spawn([...])              # killed on exit if still running
"""
import os
import re
import subprocess
import tempfile
import time

FINGERPRINT = re.compile(r"([0-9a-f]{4}(?::[0-9a-f]{4}){7})")


class WzpProcs:
    def __init__(self, build):
        self.build = build
        self.procs = []
        self.tmpdir = tempfile.TemporaryDirectory(prefix="wzp-test-")
        self.tmp = self.tmpdir.name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.tmpdir.cleanup()
        return False

    def path(self, name):
        return os.path.join(self.tmp, name)

    def tool(self, name):
        return os.path.join(self.build, "tools", name)

    def spawn(self, args, **kwargs):
        p = subprocess.Popen(args, **kwargs)
        self.procs.append(p)
        return p

    def start_relay(self):
        """Starts wzp-relay on 127.0.0.1; returns its address."""
        relay = self.spawn([self.tool("wzp-relay"), "--listen",
                            "127.0.0.1:0", "--probe-listen", "none",
                            "--identity", self.path("relay.key")],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        m = re.search(r" listening on (\S+)", relay.stdout.readline())
        if not m:
            raise RuntimeError("wzp-relay did not start")
        return m.group(1)

    def keygen(self, name):
        """Makes the identity file @name; returns its fingerprint."""
        out = subprocess.run([self.tool("wzp"), "keygen", self.path(name)],
                             capture_output=True, text=True, check=True)
        return FINGERPRINT.search(out.stdout + out.stderr).group(1)

    def wait_for_line(self, path, pattern, timeout=20):
        """Waits until the file @path (a process's output) has a line
        matching @pattern: a party is registered before it is called."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    if any(rx.search(line) for line in f):
                        return True
            time.sleep(0.05)
        raise RuntimeError("no %r in %s within %d s" % (pattern, path,
                                                          timeout))

