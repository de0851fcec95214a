#!/usr/bin/python3
"""The two servers a webrtcbin call needs and GStreamer does not ship.

Run in the NAT lab's relay namespace (or on loopback):

  webrtc_servers.py --stun 203.0.113.10:3478 --signal 203.0.113.10:8443

* STUN: a Binding responder: RFC 5389 (XOR-MAPPED-ADDRESS, MAPPED-ADDRESS,
  FINGERPRINT) and RFC 3489 (MAPPED-ADDRESS; libnice's discovery uses it).  No authentication, no TURN: exactly
  what a server-reflexive candidate needs.
* Signaling: a TCP server that pairs the two parties by role.  Each client
  sends one line `{"role": "caller"|"callee"}`, then JSON lines that are
  handed to the other role as they are (queued until it connects).  This is
  the least any webrtcbin application needs (webrtcbin has no signaling).

Stdlib only; prints "ready" on stdout once both sockets are bound.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import zlib

MAGIC = 0x2112A442
DEBUG = bool(os.environ.get("WZP_BENCH_DEBUG"))


def stun_loop(sock):
    while True:
        try:
            data, (host, port) = sock.recvfrom(2048)
        except OSError:
            return
        if DEBUG:
            print("stun: %d bytes from %s:%d: %s" % (len(data), host, port,
                  data[:24].hex()), file=sys.stderr, flush=True)
        if len(data) < 20:
            continue
        mtype, mlen, cookie = struct.unpack("!HHI", data[:8])
        if mtype != 0x0001:
            continue
        ip = socket.inet_aton(host)
        mapped = struct.pack("!HHBBH", 0x0001, 8, 0, 1, port) + ip
        if cookie != MAGIC:
            # RFC 3489 (what libnice's server-reflexive discovery sends):
            # a 16-byte transaction id and MAPPED-ADDRESS only.
            sock.sendto(struct.pack("!HH", 0x0101, len(mapped)) + data[4:20]
                        + mapped, (host, port))
            continue
        tid = data[8:20]
        xport = port ^ (MAGIC >> 16)
        xip = struct.unpack("!I", ip)[0] ^ MAGIC
        xor = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, xport, xip)
        body = xor + mapped
        # FINGERPRINT (RFC 5389 clients may require it): CRC-32 of the
        # message before it, the length already counting it.
        head = struct.pack("!HHI", 0x0101, len(body) + 8, MAGIC) + tid
        crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += struct.pack("!HHI", 0x8028, 4, crc)
        sock.sendto(head + body, (host, port))


class Signal:
    def __init__(self):
        self.lock = threading.Lock()
        self.conns = {}
        self.queued = {"caller": [], "callee": []}

    def other(self, role):
        return "callee" if role == "caller" else "caller"

    def send(self, role, line):
        with self.lock:
            c = self.conns.get(role)
            if c is None:
                self.queued[role].append(line)
                return
        try:
            c.sendall(line)
        except OSError:
            pass

    def serve(self, conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = conn.makefile("rb")
        hello = f.readline()
        if not hello:
            return
        role = json.loads(hello)["role"]
        with self.lock:
            self.conns[role] = conn
            pending, self.queued[role] = self.queued[role], []
        for line in pending:
            conn.sendall(line)
        conn.sendall(b'{"type": "welcome"}\n')
        for line in f:
            self.send(self.other(role), line)
        with self.lock:
            if self.conns.get(role) is conn:
                del self.conns[role]


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stun", default="127.0.0.1:3478")
    ap.add_argument("--signal", default="127.0.0.1:8443")
    a = ap.parse_args()
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(hostport(a.stun))
    ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ts.bind(hostport(a.signal))
    ts.listen(8)
    threading.Thread(target=stun_loop, args=(us,), daemon=True).start()
    sig = Signal()
    print("ready", flush=True)
    while True:
        c, _ = ts.accept()
        threading.Thread(target=sig.serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
