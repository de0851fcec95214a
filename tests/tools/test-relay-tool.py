#!/usr/bin/env python3
# The wzp-relay binary: starts, prints its fingerprint, serves metrics,
# keeps its identity across restarts, reads a config file, tells systemd
# it is ready (Type=notify), refuses an identity file others can read,
# and exits cleanly on SIGTERM.  (Config-file errors: tests/fault.)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import os, re, signal, socket, subprocess, sys, tempfile, time, urllib.request

RELAY = sys.argv[1]
LINE = re.compile(r"^wzp-relay (\S+) fingerprint ((?:[0-9a-f]{4}:){7}[0-9a-f]{4}) "
                  r"listening on (\S+) \(probe (\S+), media \S+, \d+ workers?, "
                  r"metrics http://(\S+)/metrics\)$")


def start(args, env=None):
    p = subprocess.Popen([RELAY] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline().strip()
    m = LINE.match(line)
    if not m:
        p.kill()
        sys.exit("unexpected first line: %r\nstderr: %s" % (line, p.stderr.read()))
    return p, m


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        sys.exit("relay did not exit on SIGTERM")
    rest = p.stdout.read()
    if rc != 0 or "stopped" not in rest:
        sys.exit("unclean exit %d: %r %r" % (rc, rest, p.stderr.read()))


with tempfile.TemporaryDirectory() as tmp:
    key = os.path.join(tmp, "relay.key")
    # Type=notify: READY=1 on $NOTIFY_SOCKET once it listens.
    notify_path = os.path.join(tmp, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    p, m = start(["--listen", "127.0.0.1:0", "--probe-listen", "127.0.0.1:0",
                  "--metrics", "127.0.0.1:0", "--identity", key,
                  "--max-registrations-per-source", "7", "--retry", "always"],
                 env=env)
    ready = notify.recv(4096).decode()
    assert ready.startswith("READY=1\n") and "STATUS=listening on 127.0.0.1:" \
        in ready, ready
    fp, metrics = m.group(2), m.group(5)
    assert os.path.exists(key), "identity file not created"
    # curl if present (what an operator would use), urllib otherwise.
    url = "http://%s/metrics" % metrics
    try:
        body = subprocess.run(["curl", "-sf", url], capture_output=True,
                              text=True, timeout=10, check=True).stdout
    except FileNotFoundError:
        body = urllib.request.urlopen(url, timeout=10).read().decode()
    for needle in ("# TYPE wzp_relay_registrations gauge",
                   "wzp_relay_registrations 0", "wzp_relay_calls_total 0",
                   "wzp_relay_datagrams_forwarded_total 0",
                   "# TYPE wzp_relay_errors_total counter",
                   'wzp_relay_limit{name="max-registrations-per-source"} 7',
                   'wzp_relay_limit{name="retry"} 2',
                   'wzp_relay_refusals_total{reason="message-rate"} 0',
                   "# TYPE process_resident_memory_bytes gauge",
                   "wzp_relay_build_info{version="):
        assert needle in body, "%r not in metrics:\n%s" % (needle, body)
    stop(p)
    # The key was created for its owner only.
    assert os.stat(key).st_mode & 0o777 == 0o600, oct(os.stat(key).st_mode)

    # Same identity file, same fingerprint; options from a config file.
    conf = os.path.join(tmp, "relay.conf")
    with open(conf, "w") as f:
        f.write("[relay]\nlisten=127.0.0.1:0\nprobe-listen=127.0.0.1:0\n"
                "metrics=127.0.0.1:0\nidentity=%s\nring-timeout=5\n" % key)
    p, m = start(["--config", conf])
    assert m.group(2) == fp, "fingerprint changed across restarts"
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 0

    # An identity file that others can read is refused (exit 1, the
    # error says how to fix it) unless the operator says otherwise.
    os.chmod(key, 0o644)
    r = subprocess.run([RELAY, "--listen", "127.0.0.1:0", "--probe-listen",
                        "none", "--identity", key], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "chmod 600" in r.stderr and "--allow-insecure-identity" in \
        r.stderr and key in r.stderr, r.stderr
    p, m = start(["--listen", "127.0.0.1:0", "--probe-listen", "none",
                  "--metrics", "127.0.0.1:0", "--identity", key,
                  "--allow-insecure-identity"])
    assert m.group(2) == fp
    stop(p)
print("ok")
