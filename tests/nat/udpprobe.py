#!/usr/bin/env python3
"""udpprobe: a tiny UDP tool for the NAT lab (stdlib only).

Every mode that reports prints one JSON object on stdout.

  echo   --port P [--addr A]... [--duration S]
         answer every datagram with "SEEN <ip> <port> " + the payload, where
         ip:port is the source address as observed here (the NAT mapping).
  query  --lport P --target IP:PORT [--target ...] [--timeout S]
         from ONE socket bound to local port P, ask each echo target what
         source it sees:  {"results": [{"target", "seen", "rtt_ms"}]}
  rtt    --lport P --target IP:PORT [--count N] [--interval MS]
         round trips to an echo server: {"sent", "received", "min_ms",
         "avg_ms", "max_ms", "samples_ms"}
  send   --lport P --target IP:PORT [--count N] [--interval MS] [--start T]
         [--laddr A]
         send numbered datagrams, expect nothing: {"sent"}
  listen --port P [--duration S] [--answer] [--first IP:PORT]
         count what arrives: {"received", "sources"}; with --answer, answer
         each datagram to where it came from
  punch  --lport P --peer IP:PORT --start T [--duration S] [--interval MS]
         [--answer]
         two-sided hole punching: from wall-clock time T (seconds since the
         epoch, the same T given to both sides) send to the peer every
         interval for the duration, and count what comes back:
         {"sent", "received", "sources", "first_rx_ms"}; with --answer also
         send to every source a datagram came from (for NATs that map per
         destination)
"""

import argparse
import json
import select
import socket
import sys
import time


def parse_addr(s):
    host, _, port = s.rpartition(":")
    return (host, int(port))


def fmt(addr):
    return "%s:%d" % addr


def bound(port, addr="0.0.0.0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    return s


def wait_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


def recv_until(s, deadline):
    """(data, addr) or None once the monotonic deadline passes."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if r:
            try:
                return s.recvfrom(65535)
            except ConnectionRefusedError:
                continue    # ICMP port unreachable from an earlier send


def cmd_echo(a):
    # One socket per address, so each answer leaves from the address the
    # request was sent to (a relay has two, to reveal per-destination NATs).
    socks = [bound(a.port, addr) for addr in (a.addr or ["0.0.0.0"])]
    print(json.dumps({"listening": a.port}), flush=True)
    end = time.monotonic() + a.duration if a.duration else None
    n = 0
    while end is None or time.monotonic() < end:
        left = (end - time.monotonic()) if end else 3600
        r, _, _ = select.select(socks, [], [], max(left, 0))
        for s in r:
            try:
                data, addr = s.recvfrom(65535)
            except ConnectionRefusedError:
                continue
            n += 1
            s.sendto(b"SEEN %s %d " % (addr[0].encode(), addr[1]) + data, addr)
    print(json.dumps({"answered": n}), flush=True)


def cmd_query(a):
    s = bound(a.lport)
    results = []
    for t in a.target:
        target = parse_addr(t)
        res = {"target": t, "seen": None, "rtt_ms": None}
        for attempt in range(a.tries):
            token = b"Q%d-%d" % (attempt, time.monotonic_ns())
            t0 = time.monotonic()
            s.sendto(token, target)
            deadline = t0 + a.timeout
            while True:
                got = recv_until(s, deadline)
                if got is None:
                    break
                data, addr = got
                parts = data.split(b" ", 3)
                if addr == target and len(parts) == 4 and parts[0] == b"SEEN" \
                        and parts[3] == token:
                    res["seen"] = "%s:%s" % (parts[1].decode(), parts[2].decode())
                    res["rtt_ms"] = (time.monotonic() - t0) * 1000
                    break
            if res["seen"]:
                break
        results.append(res)
    print(json.dumps({"lport": a.lport, "results": results}))


def cmd_rtt(a):
    s = bound(a.lport)
    target = parse_addr(a.target)
    samples = []
    for i in range(a.count):
        token = b"R%d" % i
        t0 = time.monotonic()
        s.sendto(token, target)
        deadline = t0 + a.timeout
        while True:
            got = recv_until(s, deadline)
            if got is None:
                break
            data, addr = got
            if addr == target and data.endswith(b" " + token):
                samples.append((time.monotonic() - t0) * 1000)
                break
        left = t0 + a.interval / 1000 - time.monotonic()
        if left > 0:
            time.sleep(left)
    out = {"sent": a.count, "received": len(samples), "samples_ms": samples}
    if samples:
        out.update(min_ms=min(samples), max_ms=max(samples),
                   avg_ms=sum(samples) / len(samples))
    print(json.dumps(out))


def cmd_send(a):
    s = bound(a.lport, a.laddr)
    target = parse_addr(a.target)
    if a.start:
        wait_until(a.start)
    t0 = time.monotonic()
    for i in range(a.count):
        try:
            s.sendto(b"S%d" % i, target)
        except ConnectionRefusedError:
            pass
        nxt = t0 + (i + 1) * a.interval / 1000
        left = nxt - time.monotonic()
        if left > 0:
            time.sleep(left)
    print(json.dumps({"sent": a.count}))


def cmd_listen(a):
    s = bound(a.port)
    if a.first:
        # Open the mapping first: one datagram out (an echo server answers).
        s.sendto(b"FIRST", parse_addr(a.first))
    print(json.dumps({"listening": a.port}), flush=True)
    deadline = time.monotonic() + a.duration
    sources = {}
    n = 0
    while True:
        got = recv_until(s, deadline)
        if got is None:
            break
        data, addr = got
        n += 1
        sources[fmt(addr)] = sources.get(fmt(addr), 0) + 1
        if a.answer:
            s.sendto(b"ANSWER " + data, addr)
    print(json.dumps({"received": n, "sources": sources}))


def cmd_punch(a):
    s = bound(a.lport)
    peer = parse_addr(a.peer)
    wait_until(a.start)
    t0 = time.monotonic()
    end = t0 + a.duration
    targets = [peer]
    sources = {}
    sent = received = 0
    first_rx = None
    nxt = t0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= nxt:
            for t in targets:
                try:
                    s.sendto(b"PUNCH %d" % sent, t)
                except ConnectionRefusedError:
                    pass
                sent += 1
            nxt += a.interval / 1000
        got = recv_until(s, min(nxt, end))
        if got is None:
            continue
        data, addr = got
        received += 1
        if first_rx is None:
            first_rx = (time.monotonic() - t0) * 1000
        sources[fmt(addr)] = sources.get(fmt(addr), 0) + 1
        if a.answer and addr not in targets:
            targets.append(addr)
    print(json.dumps({"sent": sent, "received": received, "sources": sources,
                      "first_rx_ms": first_rx}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("echo")
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--duration", type=float, default=0)
    e.add_argument("--addr", action="append",
                   help="local address to serve on (repeatable; default any)")
    q = sub.add_parser("query")
    q.add_argument("--lport", type=int, required=True)
    q.add_argument("--target", action="append", required=True)
    q.add_argument("--timeout", type=float, default=0.5)
    q.add_argument("--tries", type=int, default=3)
    r = sub.add_parser("rtt")
    r.add_argument("--lport", type=int, required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--count", type=int, default=10)
    r.add_argument("--interval", type=float, default=20)
    r.add_argument("--timeout", type=float, default=1.0)
    s = sub.add_parser("send")
    s.add_argument("--lport", type=int, required=True)
    s.add_argument("--target", required=True)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--interval", type=float, default=10)
    s.add_argument("--start", type=float, default=0)
    s.add_argument("--laddr", default="0.0.0.0", help="local address to send from")
    li = sub.add_parser("listen")
    li.add_argument("--port", type=int, required=True)
    li.add_argument("--duration", type=float, default=1)
    li.add_argument("--answer", action="store_true")
    li.add_argument("--first", help="IP:PORT to send one datagram to first")
    pu = sub.add_parser("punch")
    pu.add_argument("--lport", type=int, required=True)
    pu.add_argument("--peer", required=True)
    pu.add_argument("--start", type=float, required=True)
    pu.add_argument("--duration", type=float, default=1.0)
    pu.add_argument("--interval", type=float, default=20)
    pu.add_argument("--answer", action="store_true")
    a = p.parse_args(argv)
    {"echo": cmd_echo, "query": cmd_query, "rtt": cmd_rtt, "send": cmd_send,
     "listen": cmd_listen, "punch": cmd_punch}[a.mode](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
