#!/usr/bin/env python3
"""NAT lab: real Linux NATs in network namespaces, joined by a delaying "internet".

Usable as a module (class NatLab, a context manager) and as a CLI:

    python3 natlab.py up KIND_A KIND_B [--delay MS] [--prefix P]
    python3 natlab.py down [--prefix P]
    python3 natlab.py exec SIDE CMD...        # SIDE: a b ra rb relay inet
    python3 natlab.py block | unblock | loss PCT | counters | rules
    python3 natlab.py list
    python3 natlab.py cleanup-all [--all]

Topology (see docs/NATLAB.md):

    host A (10.0.1.2) -- router A (NAT, 198.51.100.1) --+
                                                        |  "inet" namespace:
    host B (10.0.2.2) -- router B (NAT, 198.51.100.2) --+- kernel routing + nft
                                                        |  counters/block/loss,
    relay (203.0.113.10 and 203.0.113.11) --------------+  every access link a
                                                           delayed wire through
                                                           wzp-delaybridge

Every access link (router A, router B, relay) is a two-port group of the
delay bridge carrying half of delay_ms, so any edge-to-edge path (A to B,
A to relay, B to relay) has delay_ms one way.

Stdlib only; needs root, iproute2, nftables and ethtool.
"""

import argparse
import atexit
import glob
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

KINDS = ("home", "fullcone", "masq", "symmetric", "relayonly", "public", "samelan")

BASE_PREFIX = "wzn"
CLI_PREFIX = "wzncli"
STATE_DIR = "/run/wzp-natlab"

RELAY_ADDR = "203.0.113.10"
RELAY_ADDR2 = "203.0.113.11"
RELAY_GW = "203.0.113.1"
# The relay's media port (channel packets) in the call tests: its default,
# the listen port 4433 + 2.
RELAY_MEDIA_PORT = 4435
PUBLIC = {"a": "198.51.100.1", "b": "198.51.100.2"}
PUBLIC_GW = {"a": "198.51.100.254", "b": "198.51.100.253"}
LAN_NET = {"a": "10.0.1.0/24", "b": "10.0.2.0/24"}
LAN_GW = {"a": "10.0.1.1", "b": "10.0.2.1"}
LAN_HOST = {"a": "10.0.1.2", "b": "10.0.2.2"}
SAMELAN_B = "10.0.1.3"

_counter = itertools.count()
_live_labs = set()


@atexit.register
def _down_live_labs():
    for lab in list(_live_labs):
        try:
            lab.down()
        except Exception:
            pass


class NatLabError(RuntimeError):
    pass


def _sh(argv, check=True, input=None, timeout=30):
    r = subprocess.run(argv, input=input, capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise NatLabError("command failed (%d): %s\n%s%s" % (
            r.returncode, " ".join(argv), r.stdout, r.stderr))
    return r


def missing_tools():
    """Names of required programs that are not installed."""
    return [t for t in ("ip", "nft", "ethtool") if shutil.which(t) is None]


def find_bridge():
    """Path of wzp-delaybridge: $WZP_DELAYBRIDGE, else a meson build dir."""
    env = os.environ.get("WZP_DELAYBRIDGE")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(os.path.dirname(here))
    for build in ("build", "_build", "builddir"):
        p = os.path.join(top, build, "tests", "nat", "wzp-delaybridge")
        if os.access(p, os.X_OK):
            return p
    p = shutil.which("wzp-delaybridge")
    if p:
        return p
    raise NatLabError("wzp-delaybridge not found: build it with meson or set "
                      "WZP_DELAYBRIDGE")


def _netns_list():
    r = _sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_ns_processes(ns):
    """Ends the processes left inside one of our lab namespaces (by pid)."""
    r = _sh(["ip", "netns", "pids", ns], check=False)
    pids = [int(p) for p in r.stdout.split() if p.isdigit()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2
    for pid in pids:
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _lab_prefixes():
    """Lab prefix -> namespaces, for every namespace that looks like ours."""
    labs = {}
    for ns in _netns_list():
        m = re.match(r"^(%s[0-9a-z]*)-(inet|relay|ra|rb|a|b)$" % BASE_PREFIX, ns)
        if m:
            labs.setdefault(m.group(1), []).append(ns)
    return labs


def _delete_lab_namespaces(prefix, namespaces):
    for ns in namespaces:
        _kill_ns_processes(ns)
    for ns in namespaces:
        _sh(["ip", "netns", "delete", ns], check=False)
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "wzp-natlab-%s-*" % prefix)):
        shutil.rmtree(d, ignore_errors=True)
    st = os.path.join(STATE_DIR, prefix + ".json")
    if os.path.exists(st):
        try:
            os.unlink(st)
        except OSError:
            pass


def cleanup_all(include_cli=False):
    """Deletes stale labs: namespaces named wzn<PID>x<N>-* whose creating
    process is gone.  With include_cli, also labs made by `natlab.py up`.
    Returns the prefixes removed."""
    removed = []
    for prefix, namespaces in sorted(_lab_prefixes().items()):
        m = re.match(r"^%s(\d+)x\d+$" % BASE_PREFIX, prefix)
        if m:
            if _pid_alive(int(m.group(1))) and int(m.group(1)) != os.getpid():
                continue
        elif not include_cli:
            continue
        _delete_lab_namespaces(prefix, namespaces)
        removed.append(prefix)
    return removed


class NatLab:
    """Two clients behind NATs of the given kinds, a relay and a delaying
    internet, each in its own network namespace.

    kind_a, kind_b: one of KINDS.  "samelan" puts both hosts on one LAN
    behind one home NAT (then both kinds must be "samelan").
    delay_ms: one-way delay between any two edges (A, B, relay).
    prefix: namespace name prefix; the default is unique per process and lab.
    """

    relay_addr = RELAY_ADDR
    relay_addr2 = RELAY_ADDR2

    def __init__(self, kind_a, kind_b, delay_ms=20, prefix=None, jitter_ms=0,
                 bridge=None):
        for k in (kind_a, kind_b):
            if k not in KINDS:
                raise ValueError("unknown NAT kind %r (one of %s)" % (k, ", ".join(KINDS)))
        if (kind_a == "samelan") != (kind_b == "samelan"):
            raise ValueError("samelan is a topology: both kinds must be 'samelan'")
        self.kinds = {"a": kind_a, "b": kind_b}
        self.samelan = kind_a == "samelan"
        self.delay_ms = float(delay_ms)
        self.jitter_ms = float(jitter_ms)
        if prefix is None:
            prefix = "%s%dx%d" % (BASE_PREFIX, os.getpid(), next(_counter))
        if not re.match(r"^%s[0-9a-z]*$" % BASE_PREFIX, prefix) or len(prefix) > 24:
            raise ValueError("prefix must match %s[0-9a-z]* (at most 24 chars)" % BASE_PREFIX)
        self.prefix = prefix
        self.bridge_path = bridge
        self.bridge_proc = None
        self.bridge_pid = None
        self.rundir = None
        self.ctl_path = None
        self._blocked = False
        self._loss = 0.0
        self._relay_loss = 0.0
        self._moved = {}            # side -> its address after move_address()
        self._rebinds = 0
        self._media_blocked = False
        self._up = False

    # ---- names and addresses ------------------------------------------

    def ns(self, which):
        """Namespace name of 'a', 'b' (hosts), 'ra', 'rb' (routers),
        'relay' or 'inet'.  Routers of kind public (and B's in samelan)
        do not exist: their name is returned but the namespace is absent."""
        if which == "rb" and self.samelan:
            which = "ra"
        if which not in ("a", "b", "ra", "rb", "relay", "inet"):
            raise ValueError("unknown namespace %r" % which)
        return "%s-%s" % (self.prefix, which)

    def addr(self, side):
        """The host's own address (LAN address behind a NAT, else public)."""
        if side in self._moved:
            return self._moved[side]
        if self.kinds[side] == "public":
            return PUBLIC[side]
        if self.samelan:
            return LAN_HOST["a"] if side == "a" else SAMELAN_B
        return LAN_HOST[side]

    def public_addr(self, side):
        """The address the side's traffic has on the internet."""
        if self.samelan:
            return PUBLIC["a"]
        return PUBLIC[side]

    def has_router(self, side):
        if self.samelan:
            return side == "a"
        return self.kinds[side] != "public"

    def namespaces(self):
        names = ["inet", "relay", "a", "b"]
        for side in "ab":
            if self.has_router(side):
                names.append("r" + side)
        return [self.ns(n) for n in names]

    # ---- running things ------------------------------------------------

    def _exec_argv(self, where, argv):
        return ["ip", "netns", "exec", self.ns(where)] + [str(a) for a in argv]

    def run(self, side, argv, **kw):
        """subprocess.run(argv) inside namespace `side` (see ns()).
        Defaults to capture_output=True, text=True."""
        kw.setdefault("text", True)
        if "stdout" not in kw and "stderr" not in kw:
            kw.setdefault("capture_output", True)
        return subprocess.run(self._exec_argv(side, argv), **kw)

    def popen(self, side, argv, **kw):
        """subprocess.Popen(argv) inside namespace `side`."""
        return subprocess.Popen(self._exec_argv(side, argv), **kw)

    def nft(self, where, script):
        return _sh(self._exec_argv(where, ["nft", "-f", "-"]), input=script)

    def _ip(self, where, *args):
        return _sh(["ip", "-n", self.ns(where)] + list(args))

    def _sysctl(self, where, **values):
        cmds = []
        for k, v in values.items():
            path = "/proc/sys/" + k.replace(".", "/").replace("__", ".")
            cmds.append("echo %s > %s" % (v, path))
        _sh(self._exec_argv(where, ["sh", "-c", " && ".join(cmds)]))

    # ---- building ------------------------------------------------------

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def up(self):
        if missing_tools():
            raise NatLabError("missing tools: " + ", ".join(missing_tools()))
        if self.bridge_path is None:
            self.bridge_path = find_bridge()
        _live_labs.add(self)
        try:
            self._build()
        except BaseException:
            self.down()
            raise
        self._up = True
        return self

    def _new_ns(self, which, forward=False):
        name = self.ns(which)
        _sh(["ip", "netns", "add", name])
        self._ip(which, "link", "set", "lo", "up")
        self._sysctl(which, **{
            "net.ipv6.conf.all.disable_ipv6": 1,
            "net.ipv6.conf.default.disable_ipv6": 1,
            "net.ipv4.conf.all.rp_filter": 0,
            "net.ipv4.conf.default.rp_filter": 0,
            "net.ipv4.ip_forward": 1 if forward else 0,
        })

    def _veth(self, ns1, name1, ns2, name2):
        _sh(["ip", "-n", self.ns(ns1), "link", "add", name1, "type", "veth",
             "peer", "name", name2, "netns", self.ns(ns2)])
        for ns, name in ((ns1, name1), (ns2, name2)):
            # The bridge copies frames as they are: checksums must be final.
            _sh(self._exec_argv(ns, ["ethtool", "-K", name, "tx", "off"]),
                check=False)
            self._ip(ns, "link", "set", name, "up")

    def _wire(self, outer_ns, outer_if, link):
        """Connects outer_ns:outer_if to the inet namespace through a
        delayed wire: outer_if <-> p<link> =bridge= q<link> <-> g<link>,
        where g<link> is the inet side's routed interface."""
        self._veth(outer_ns, outer_if, "inet", "p" + link)
        self._veth("inet", "g" + link, "inet", "q" + link)
        for port in ("p" + link, "q" + link):
            self._ip("inet", "link", "set", port, "arp", "off")
        self.bridge_groups.append("p%s,q%s" % (link, link))
        self.bridge_ports += ["p" + link, "q" + link]

    def _build(self):
        stale = [n for n in self.namespaces() if n in _netns_list()]
        if stale:
            raise NatLabError("namespaces already exist: %s" % ", ".join(stale))
        self.bridge_groups = []
        self.bridge_ports = []
        self._new_ns("inet", forward=True)
        self._new_ns("relay")
        for side in "ab":
            self._new_ns(side)
            if self.has_router(side) and not (self.samelan and side == "b"):
                self._new_ns("r" + side, forward=True)

        # relay
        self._wire("relay", "eth0", "r")
        self._ip("relay", "addr", "add", RELAY_ADDR + "/24", "dev", "eth0")
        self._ip("relay", "addr", "add", RELAY_ADDR2 + "/24", "dev", "eth0")
        self._ip("relay", "route", "add", "default", "via", RELAY_GW)
        self._ip("inet", "addr", "add", RELAY_GW + "/24", "dev", "gr")

        # clients
        for side in "ab":
            if self.samelan and side == "b":
                continue
            edge = "r" + side if self.has_router(side) else side
            edge_if = "wan" if self.has_router(side) else "eth0"
            self._wire(edge, edge_if, side)
            pub, gw = PUBLIC[side], PUBLIC_GW[side]
            self._ip("inet", "addr", "add", gw + "/32", "dev", "g" + side)
            self._ip("inet", "route", "add", pub + "/32", "dev", "g" + side)
            self._ip(edge, "addr", "add", pub + "/32", "dev", edge_if)
            self._ip(edge, "route", "add", gw + "/32", "dev", edge_if)
            self._ip(edge, "route", "add", "default", "via", gw, "dev", edge_if)
            if not self.has_router(side):
                continue
            if self.samelan:
                # One LAN, two hosts: a kernel bridge in the router.
                self._ip("ra", "link", "add", "lan", "type", "bridge")
                self._ip("ra", "link", "set", "lan", "up")
                for host, port, hostaddr in (("a", "l1", LAN_HOST["a"]),
                                             ("b", "l2", SAMELAN_B)):
                    self._veth("ra", port, host, "eth0")
                    self._ip("ra", "link", "set", port, "master", "lan")
                    self._ip(host, "addr", "add", hostaddr + "/24", "dev", "eth0")
                    self._ip(host, "route", "add", "default", "via", LAN_GW["a"])
                self._ip("ra", "addr", "add", LAN_GW["a"] + "/24", "dev", "lan")
            else:
                self._veth("r" + side, "lan", side, "eth0")
                self._ip("r" + side, "addr", "add", LAN_GW[side] + "/24", "dev", "lan")
                self._ip(side, "addr", "add", LAN_HOST[side] + "/24", "dev", "eth0")
                self._ip(side, "route", "add", "default", "via", LAN_GW[side])
            kind = "home" if self.samelan else self.kinds[side]
            self.nft("r" + side, self.router_rules(kind, side))

        self.nft("inet", self.inet_rules())
        self._start_bridge()

    def router_rules(self, kind, side):
        """The nftables ruleset of a NAT router of this kind."""
        pub = PUBLIC[side]
        lan = LAN_NET[side]
        relays = "%s, %s" % (RELAY_ADDR, RELAY_ADDR2)
        head = "table ip wzpnat {\n"
        # Inbound filter for every kind but masq: only replies (conntrack
        # established/related) come in; new inbound packets are dropped
        # before conntrack confirms them, so they leave no entry behind.
        input_chain = """
  chain filter_in { type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" icmp type echo-request accept
    iifname "wan" counter name in_dropped drop
  }"""
        if kind in ("home", "fullcone"):
            # Endpoint-independent mapping: the first mapping of an inside
            # address:port is kept in @out (inside -> public) and @in
            # (public port -> inside), learnt after SNAT; later flows from the
            # same inside endpoint are SNATed to the same public endpoint and
            # new inbound flows to that public port are DNATed by @in.
            inbound = ('    iifname "wan" ct status dnat accept\n'
                       if kind == "fullcone" else "")
            return head + """
  counter in_dropped {}
  counter fwd_dropped {}
  map out { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout 5m; }
  map in { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout 5m; }
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" ip daddr %(pub)s dnat ip to udp dport map @in
  }
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr %(lan)s snat ip to ip saddr . udp sport map @out
    oifname "wan" ip saddr %(lan)s snat ip to %(pub)s
  }
  chain learn { type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "wan" meta l4proto udp ct direction original ct original ip saddr %(lan)s update @out { ct original ip saddr . ct original proto-src : ip saddr . udp sport }
    oifname "wan" meta l4proto udp ct direction original ct original ip saddr %(lan)s update @in { udp sport : ct original ip saddr . ct original proto-src }
  }
  chain filter_fwd { type filter hook forward priority filter; policy accept;
    iifname "wan" ct state established,related accept
%(inbound)s    iifname "wan" counter name fwd_dropped drop
  }%(input)s
}
""" % dict(pub=pub, lan=lan, inbound=inbound, input=input_chain)
        if kind == "masq":
            # A plain Linux router: masquerade, no filter at all.
            return head + """
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr %(lan)s masquerade
  }
}
""" % dict(lan=lan)
        if kind == "symmetric":
            return head + """
  counter in_dropped {}
  counter fwd_dropped {}
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr %(lan)s masquerade random,fully-random
  }
  chain filter_fwd { type filter hook forward priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" counter name fwd_dropped drop
  }%(input)s
}
""" % dict(lan=lan, input=input_chain)
        if kind == "relayonly":
            return head + """
  counter in_dropped {}
  counter fwd_dropped {}
  set relays { type ipv4_addr; elements = { %(relays)s } }
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr %(lan)s masquerade
  }
  chain filter_fwd { type filter hook forward priority filter; policy accept;
    iifname "lan" meta l4proto udp ip daddr != @relays counter name fwd_dropped drop
    iifname "wan" meta l4proto udp ip saddr != @relays counter name fwd_dropped drop
    iifname "wan" ct state established,related accept
    iifname "wan" counter name fwd_dropped drop
  }%(input)s
}
""" % dict(lan=lan, relays=relays, input=input_chain)
        raise ValueError("no router for kind %r" % kind)

    def inet_rules(self):
        """Counters, block and loss for the internet namespace."""
        peers = sorted({self.public_addr("a"), self.public_addr("b")})
        ports = ", ".join('"%s"' % p for p in self.bridge_ports)
        return """table ip wzplab {
  set peers { type ipv4_addr; elements = { %(peers)s } }
  set relays { type ipv4_addr; elements = { %(r1)s, %(r2)s } }
  counter a_to_b {}
  counter b_to_a {}
  counter a_relay {}
  counter relay_a {}
  counter b_relay {}
  counter relay_b {}
  counter direct_dropped {}
  counter relay_dropped {}
  counter relay_media {}
  counter relay_media_dropped {}
  chain ports_raw { type filter hook prerouting priority raw; policy accept;
    iifname { %(ports)s } drop
  }
  chain count_fwd { type filter hook forward priority filter; policy accept;
    meta l4proto udp ip saddr %(pa)s ip daddr %(pb)s counter name a_to_b
    meta l4proto udp ip saddr %(pb)s ip daddr %(pa)s counter name b_to_a
    meta l4proto udp ip saddr %(pa)s ip daddr @relays counter name a_relay
    meta l4proto udp ip saddr @relays ip daddr %(pa)s counter name relay_a
    meta l4proto udp ip saddr %(pb)s ip daddr @relays counter name b_relay
    meta l4proto udp ip saddr @relays ip daddr %(pb)s counter name relay_b
    meta l4proto udp ip daddr @relays udp dport %(mport)d counter name relay_media
    meta l4proto udp ip saddr @relays udp sport %(mport)d counter name relay_media
    jump ctl
  }
  chain ctl {
  }
}
""" % dict(peers=", ".join(peers), r1=RELAY_ADDR, r2=RELAY_ADDR2, ports=ports,
           pa=self.public_addr("a"), pb=self.public_addr("b"),
           mport=RELAY_MEDIA_PORT)

    def _start_bridge(self):
        self.rundir = tempfile.mkdtemp(prefix="wzp-natlab-%s-" % self.prefix)
        os.chmod(self.rundir, 0o755)
        self.ctl_path = os.path.join(self.rundir, "bridge.ctl")
        pidfile = os.path.join(self.rundir, "bridge.pid")
        log = open(os.path.join(self.rundir, "bridge.log"), "w")
        half = self.delay_ms / 2.0
        argv = [self.bridge_path, "-d", "%g" % half, "-j", "%g" % (self.jitter_ms / 2.0),
                "-c", self.ctl_path, "-p", pidfile] + self.bridge_groups
        self.bridge_proc = self.popen("inet", argv, stdout=log, stderr=log,
                                      stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        log.close()
        deadline = time.monotonic() + 5
        while not os.path.exists(pidfile):
            if self.bridge_proc.poll() is not None:
                with open(os.path.join(self.rundir, "bridge.log")) as f:
                    raise NatLabError("delay bridge exited: " + f.read())
            if time.monotonic() > deadline:
                raise NatLabError("delay bridge did not start")
            time.sleep(0.01)
        with open(pidfile) as f:
            self.bridge_pid = int(f.read().strip())

    def bridge_ctl(self, command):
        """Sends one command to the delay bridge; returns its reply text."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(self.ctl_path)
            s.sendall(command.encode() + b"\n")
            out = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                out += d
        finally:
            s.close()
        text = out.decode()
        if text.startswith("error"):
            raise NatLabError("bridge: %s -> %s" % (command, text.strip()))
        return text

    def set_delay(self, delay_ms, jitter_ms=None):
        """Changes the one-way edge-to-edge delay (and jitter) at run time."""
        self.delay_ms = float(delay_ms)
        self.bridge_ctl("delay %g" % (self.delay_ms / 2.0))
        if jitter_ms is not None:
            self.jitter_ms = float(jitter_ms)
            self.bridge_ctl("jitter %g" % (self.jitter_ms / 2.0))

    def delay_to_port(self, udp_port, extra_ms, from_port=None):
        """Adds extra_ms (0: none again) to the one-way delay of UDP packets
        to destination port udp_port (and from source port from_port, if
        given), on every path through the internet.  With a host bound to
        a fixed port (the home NAT keeps it) and from_port the relay's
        (4433), that is what the relay sends the host, and only that: the
        host's call-setup arrives later than its peer's.  Such packets keep
        their own order."""
        # Every path crosses two delayed wires, as with set_delay.
        self.bridge_ctl("portdelay %d %g%s" % (
            udp_port, extra_ms / 2.0, " %d" % from_port if from_port else ""))

    def move_address(self, side):
        """The host behind its router moves to another address on its LAN
        and loses the old one at once (a laptop that rejoins, a phone
        handed another address): what it sends leaves from the new address,
        what comes to the old one is lost, and its NAT maps the new address
        afresh (another public port).  Sockets bound to the wildcard live
        on.  Returns the new address."""
        if not self.has_router(side) and not self.samelan:
            raise NatLabError("move_address: host %s has no LAN" % side)
        old = self.addr(side)
        prefix, last = old.rsplit(".", 1)
        new = "%s.%d" % (prefix, int(last) + 10)
        gw = LAN_GW["a"] if self.samelan else LAN_GW[side]
        # The old address goes at once; the new one (a secondary on the same
        # subnet until then) must not go with it.
        _sh(self._exec_argv(side, ["sh", "-c", " && ".join([
            "echo 1 > /proc/sys/net/ipv4/conf/all/promote_secondaries",
            "echo 1 > /proc/sys/net/ipv4/conf/eth0/promote_secondaries",
            "ip addr add %s/24 dev eth0" % new,
            "ip addr del %s/24 dev eth0" % old,
            "ip route replace default via %s dev eth0" % gw])]))
        self._moved[side] = new
        return new

    def rebind(self, side):
        """The NAT in front of `side` forgets its connections (conntrack
        flushed) and maps each inside address:port it knew to a new public
        port: a NAT rebinding, which the host cannot see.  home/fullcone
        stay endpoint-independent (the new port is the one for every
        destination); other kinds just lose their conntrack entries.
        Returns {inside "ip:port": new public "ip:port"}.  Needs the
        conntrack tool."""
        if shutil.which("conntrack") is None:
            raise NatLabError("rebind needs the conntrack tool "
                              "(apt-get install conntrack)")
        if not self.has_router(side):
            raise NatLabError("rebind: host %s has no NAT" % side)
        router = "ra" if self.samelan else "r" + side
        kind = "home" if self.samelan else self.kinds[side]
        self._rebinds += 1
        moved = {}
        if kind in ("home", "fullcone"):
            r = _sh(self._exec_argv(router, ["nft", "-j", "list", "map", "ip",
                                             "wzpnat", "out"]))
            elems = []
            for item in json.loads(r.stdout)["nftables"]:
                for e in (item.get("map") or {}).get("elem", []):
                    # A key with a timeout comes wrapped: {"elem": {"val": ..}}
                    key = e[0].get("elem", {}).get("val", e[0])["concat"]
                    val = e[1]["concat"]
                    elems.append((key[0], key[1], val[0], val[1]))
            script = ["flush chain ip wzpnat learn",
                      "flush map ip wzpnat out", "flush map ip wzpnat in"]
            for inside, iport, pub, pport in elems:
                new = 20000 + (pport + 7919 * self._rebinds) % 40000
                script.append("add element ip wzpnat out { %s . %d : %s . %d }"
                              % (inside, iport, pub, new))
                script.append("add element ip wzpnat in { %d : %s . %d }"
                              % (new, inside, iport))
                moved["%s:%d" % (inside, iport)] = "%s:%d" % (pub, new)
            # Learning stays off while the old connections are flushed, or
            # their next packets would teach the maps the old ports again.
            self.nft(router, "\n".join(script) + "\n")
            _sh(self._exec_argv(router, ["conntrack", "-F"]), check=False)
            rside = "a" if self.samelan else side
            self.nft(router, "\n".join(
                "add rule ip wzpnat learn " + rule for rule in
                self._learn_rules(LAN_NET[rside])) + "\n")
        else:
            _sh(self._exec_argv(router, ["conntrack", "-F"]), check=False)
        return moved

    @staticmethod
    def _learn_rules(lan):
        return [
            'oifname "wan" meta l4proto udp ct direction original ct original '
            'ip saddr %s update @out { ct original ip saddr . ct original '
            'proto-src : ip saddr . udp sport }' % lan,
            'oifname "wan" meta l4proto udp ct direction original ct original '
            'ip saddr %s update @in { udp sport : ct original ip saddr . ct '
            'original proto-src }' % lan]

    def down(self):
        """Stops the bridge and deletes every namespace (idempotent)."""
        if self.bridge_proc is not None:
            if self.bridge_proc.poll() is None:
                # `ip netns exec` execs the bridge, so this pid is the bridge.
                self.bridge_proc.terminate()
                try:
                    self.bridge_proc.wait(3)
                except subprocess.TimeoutExpired:
                    self.bridge_proc.kill()
                    self.bridge_proc.wait()
            self.bridge_proc = None
        elif self.bridge_pid and _pid_alive(self.bridge_pid):
            try:
                os.kill(self.bridge_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        existing = set(_netns_list())
        _delete_lab_namespaces(self.prefix, [n for n in self.namespaces() + [self.ns("ra"), self.ns("rb")]
                                             if n in existing])
        if self.rundir and os.path.isdir(self.rundir):
            shutil.rmtree(self.rundir, ignore_errors=True)
        self._up = False
        _live_labs.discard(self)

    # ---- test controls -------------------------------------------------

    def _apply_ctl(self):
        rules = ["flush chain ip wzplab ctl"]
        match = "meta l4proto udp ip saddr @peers ip daddr @peers"
        if self._blocked:
            rules.append("add rule ip wzplab ctl %s counter name direct_dropped drop" % match)
        if self._loss > 0:
            n = int(round(self._loss * 100))
            rules.append("add rule ip wzplab ctl %s numgen random mod 10000 < %d "
                         "counter name direct_dropped drop" % (match, n))
        if self._media_blocked:
            for m in ("ip daddr @relays udp dport %d" % RELAY_MEDIA_PORT,
                      "ip saddr @relays udp sport %d" % RELAY_MEDIA_PORT):
                rules.append("add rule ip wzplab ctl meta l4proto udp %s "
                             "counter name relay_media_dropped drop" % m)
        if self._relay_loss > 0:
            n = int(round(self._relay_loss * 100))
            for m in ("ip saddr @peers ip daddr @relays",
                      "ip saddr @relays ip daddr @peers"):
                rules.append("add rule ip wzplab ctl meta l4proto udp %s numgen "
                             "random mod 10000 < %d counter name relay_dropped "
                             "drop" % (m, n))
        self.nft("inet", "\n".join(rules) + "\n")

    def block_direct(self):
        """Drops UDP between the two clients' public addresses (not to/from
        the relay) in the internet namespace."""
        self._blocked = True
        self._apply_ctl()

    def unblock_direct(self):
        self._blocked = False
        self._apply_ctl()

    def block_relay_media(self, blocked=True):
        """Drops every packet to and from the relay's media port
        (RELAY_MEDIA_PORT; counted in relay_media_dropped): a network that
        lets only the relay's QUIC port through."""
        self._media_blocked = blocked
        self._apply_ctl()

    def set_loss_between_peers(self, percent):
        """Random loss (0-100 %) on the direct A<->B path only."""
        if not 0 <= percent <= 100:
            raise ValueError("percent must be within 0..100")
        self._loss = float(percent)
        self._apply_ctl()

    def set_loss_to_relay(self, percent):
        """Random loss (0-100 %) on every packet between either client and
        the relay's two addresses, both ways (counted in relay_dropped)."""
        if not 0 <= percent <= 100:
            raise ValueError("percent must be within 0..100")
        self._relay_loss = float(percent)
        self._apply_ctl()

    def path_counters(self):
        """Packets/bytes of UDP seen in the internet namespace:
        {'a_to_b', 'b_to_a', 'direct' (sum), 'direct_dropped',
         'a_relay', 'relay_a', 'b_relay', 'relay_b', 'relay' (sum)},
        each {'packets': N, 'bytes': N}.  Direct traffic is counted before
        block/loss drop it; direct_dropped is what they dropped;
        relay_dropped what set_loss_to_relay dropped.  In samelan
        the hosts talk over their LAN, which the internet never sees."""
        r = _sh(self._exec_argv("inet", ["nft", "-j", "list", "counters", "table", "ip", "wzplab"]))
        out = {}
        for item in json.loads(r.stdout)["nftables"]:
            c = item.get("counter")
            if c:
                out[c["name"]] = {"packets": c["packets"], "bytes": c["bytes"]}

        def add(*names):
            return {k: sum(out[n][k] for n in names) for k in ("packets", "bytes")}
        out["direct"] = add("a_to_b", "b_to_a")
        out["relay"] = add("a_relay", "relay_a", "b_relay", "relay_b")
        return out

    def reset_counters(self):
        _sh(self._exec_argv("inet", ["nft", "reset", "counters", "table", "ip", "wzplab"]))

    def rules(self):
        """All nftables rulesets of the lab, as text."""
        parts = []
        existing = set(_netns_list())
        for n in self.namespaces():
            if n not in existing:
                continue
            r = _sh(["ip", "netns", "exec", n, "nft", "list", "ruleset"], check=False)
            parts.append("# %s\n%s" % (n, r.stdout))
        return "\n".join(parts)

    def describe(self):
        return {
            "prefix": self.prefix, "kind_a": self.kinds["a"], "kind_b": self.kinds["b"],
            "delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms,
            "addr_a": self.addr("a"), "addr_b": self.addr("b"),
            "public_a": self.public_addr("a"), "public_b": self.public_addr("b"),
            "relay_addr": self.relay_addr, "relay_addr2": self.relay_addr2,
            "namespaces": self.namespaces(), "bridge_pid": self.bridge_pid,
            "ctl_path": self.ctl_path, "rundir": self.rundir,
        }

    # ---- CLI state -------------------------------------------------------

    def save_state(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        d = self.describe()
        d["blocked"] = self._blocked
        d["loss"] = self._loss
        d["relay_loss"] = self._relay_loss
        with open(os.path.join(STATE_DIR, self.prefix + ".json"), "w") as f:
            json.dump(d, f, indent=1)

    @classmethod
    def attach(cls, prefix):
        """A NatLab object for a lab started by `natlab.py up`."""
        path = os.path.join(STATE_DIR, prefix + ".json")
        try:
            with open(path) as f:
                d = json.load(f)
        except FileNotFoundError:
            raise NatLabError("no lab %s (no %s)" % (prefix, path))
        lab = cls(d["kind_a"], d["kind_b"], d["delay_ms"], prefix=prefix,
                  jitter_ms=d.get("jitter_ms", 0))
        lab.bridge_pid = d["bridge_pid"]
        lab.ctl_path = d["ctl_path"]
        lab.rundir = d["rundir"]
        lab._blocked = d.get("blocked", False)
        lab._loss = d.get("loss", 0.0)
        lab._relay_loss = d.get("relay_loss", 0.0)
        lab.bridge_ports = []
        lab._up = True
        return lab


def main(argv=None):
    p = argparse.ArgumentParser(description="wzp NAT lab")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a lab that stays until `down`")
    up.add_argument("kind_a", choices=KINDS)
    up.add_argument("kind_b", choices=KINDS)
    up.add_argument("--delay", type=float, default=20, help="one-way delay, ms")
    up.add_argument("--jitter", type=float, default=0, help="jitter, ms")
    for name in ("down", "block", "unblock", "rules", "counters", "info"):
        sp = sub.add_parser(name)
        sp.add_argument("--prefix", default=CLI_PREFIX)
    up.add_argument("--prefix", default=CLI_PREFIX)
    lo = sub.add_parser("loss", help="random loss on the direct path, percent")
    lo.add_argument("percent", type=float)
    lo.add_argument("--prefix", default=CLI_PREFIX)
    ex = sub.add_parser("exec", help="run a command in a namespace")
    ex.add_argument("--prefix", default=CLI_PREFIX)
    ex.add_argument("side", choices=("a", "b", "ra", "rb", "relay", "inet"))
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    sub.add_parser("list", help="list lab namespaces")
    ca = sub.add_parser("cleanup-all", help="delete stale labs")
    ca.add_argument("--all", action="store_true",
                    help="also labs made by `up` (every wzn* namespace)")
    a = p.parse_args(argv)

    if os.geteuid() != 0 and a.cmd not in ("list",):
        print("natlab: needs root", file=sys.stderr)
        return 1
    if a.cmd == "up":
        lab = NatLab(a.kind_a, a.kind_b, a.delay, prefix=a.prefix, jitter_ms=a.jitter)
        lab.up()
        lab.bridge_proc = None   # keep it running after we exit
        _live_labs.discard(lab)
        lab.save_state()
        print(json.dumps(lab.describe(), indent=1))
        return 0
    if a.cmd == "list":
        for prefix, nss in sorted(_lab_prefixes().items()):
            print("%s: %s" % (prefix, " ".join(sorted(nss))))
        return 0
    if a.cmd == "cleanup-all":
        for prefix in cleanup_all(include_cli=a.all):
            print("removed", prefix)
        return 0
    if a.cmd == "down":
        try:
            lab = NatLab.attach(a.prefix)
            lab.down()
        except NatLabError:
            nss = _lab_prefixes().get(a.prefix, [])
            _delete_lab_namespaces(a.prefix, nss)
        return 0
    lab = NatLab.attach(a.prefix)
    if a.cmd == "exec":
        argv = a.argv[1:] if a.argv[:1] == ["--"] else a.argv
        if not argv:
            argv = [os.environ.get("SHELL", "/bin/sh")]
        os.execvp("ip", ["ip", "netns", "exec", lab.ns(a.side)] + argv)
    if a.cmd == "block":
        lab.block_direct()
    elif a.cmd == "unblock":
        lab.unblock_direct()
    elif a.cmd == "loss":
        lab.set_loss_between_peers(a.percent)
    elif a.cmd == "rules":
        print(lab.rules())
    elif a.cmd == "counters":
        print(json.dumps(lab.path_counters(), indent=1))
    elif a.cmd == "info":
        print(json.dumps(lab.describe(), indent=1))
    lab.save_state()
    return 0


if __name__ == "__main__":
    sys.exit(main())
