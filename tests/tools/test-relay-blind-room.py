#!/usr/bin/env python3
"""The relay cannot read an owned room.

An owner and two invited members (`wzp call --room`, each sending 80-byte
frames of mostly 0xa5 for a few seconds) talk through a wzp-relay that
writes its TLS key log.  tshark decrypts every QUIC packet the relay
handled, and the test checks that

  - it really reads inside QUIC: the relay's signaling (join-room,
    room-message with "sender-key" bodies) and the media datagrams
    (type byte 0x10) are there in clear;
  - no datagram carries media plaintext;
  - no sender key the members used (each party lists the keys it made or
    received, --report-keys) appears anywhere in what the relay saw: not
    as raw bytes, not as the base64 a plain key message would carry.

Exit 77 (skipped) without tshark or root (capturing on loopback).
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
PATTERN = "a5" * 16


def log(*a):
    print(*a, flush=True)


def tshark_fields(cap, keylog, field, filt):
    out = subprocess.run(
        ["tshark", "-r", cap, "-o", "tls.keylog_file:" + keylog, "-Y", filt,
         "-T", "fields", "-e", field],
        capture_output=True, text=True, check=True).stdout
    values = []
    for line in out.splitlines():
        for v in line.split(","):
            v = v.strip().replace(":", "").lower()
            if v:
                values.append(v)
    return values


def main():
    tools = sys.argv[1]
    if not shutil.which("tshark"):
        log("SKIP: tshark is not installed")
        return SKIP
    if os.geteuid() != 0:
        log("SKIP: capturing on loopback needs root")
        return SKIP
    wzp = os.path.join(tools, "wzp")
    relay_bin = os.path.join(tools, "wzp-relay")
    work = tempfile.mkdtemp(prefix="wzp-blind-room-")
    procs = []
    port = 20000 + (os.getpid() * 7) % 20000
    try:
        cap = os.path.join(work, "cap.pcapng")
        keylog = os.path.join(work, "relay-keys.log")
        tshark = subprocess.Popen(
            ["tshark", "-i", "lo", "-f", "udp port %d" % port, "-w", cap, "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(tshark)
        for _ in range(50):
            if os.path.exists(cap) and os.path.getsize(cap) > 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        env = dict(os.environ, WZP_KEYLOG=keylog)
        procs.append(subprocess.Popen(
            [relay_bin, "--listen", "127.0.0.1:%d" % port, "--probe-listen",
             "none", "--identity", os.path.join(work, "relay.key")],
            env=env, stdout=open(os.path.join(work, "relay.log"), "w"),
            stderr=subprocess.STDOUT))
        time.sleep(0.3)

        def keygen(name):
            return subprocess.run([wzp, "keygen", os.path.join(work, name)],
                                  capture_output=True, text=True,
                                  check=True).stdout.strip()

        owner = keygen("owner.key")
        parties = []
        for name in ("owner", "alice", "bob"):
            key = os.path.join(work, name + ".key")
            if name != "owner":
                fp = keygen(name + ".key")
                subprocess.run([wzp, "invite", "-i",
                                os.path.join(work, "owner.key"), "--room",
                                "standup", "--member", fp, "-o",
                                os.path.join(work, name + ".inv")],
                               check=True, capture_output=True)
            cmd = [wzp, "call", "-r", "127.0.0.1:%d" % port, "-i", key,
                   "--room", "standup", "--room-owner", owner,
                   "--report-keys", "--duration", "4"]
            if name != "owner":
                cmd += ["--room-invite", "@" + os.path.join(work,
                                                            name + ".inv")]
            out = os.path.join(work, name + ".json")
            p = subprocess.Popen(cmd, stdout=open(out, "w"),
                                 stderr=open(out + ".err", "w"),
                                 env=dict(os.environ,
                                          G_DEBUG="fatal-criticals"))
            procs.append(p)
            parties.append((name, p, out))
            time.sleep(0.3)
        for name, p, out in parties:
            p.wait(timeout=30)
        time.sleep(1)
        tshark.send_signal(signal.SIGINT)
        tshark.wait(timeout=10)

        keys = set()
        ok = True
        for name, p, out in parties:
            report = json.load(open(out))
            senders = report.get("room_senders", {})
            heard = sorted(senders.values())
            log("%s heard %s; %d keys" % (name, heard,
                                          len(report.get("room_keys", []))))
            if len(heard) != 2 or heard[0] < 50:
                log("FAIL: %s did not hear both others" % name)
                ok = False
            keys.update(report.get("room_keys", []))
        if len(keys) < 3:
            log("FAIL: the parties reported too few keys to judge")
            return 1

        datagrams = tshark_fields(cap, keylog, "quic.dg", "quic.dg")
        streams = tshark_fields(cap, keylog, "quic.stream_data",
                                "quic.stream_data")
        stream_bytes = b"".join(bytes.fromhex(s) for s in streams)
        media = [d for d in datagrams if d.startswith("10")]
        log("relay view: %d datagrams (%d media), %d bytes of signaling"
            % (len(datagrams), len(media), len(stream_bytes)))
        if len(media) < 300:
            log("FAIL: tshark decrypted too few relay datagrams to judge")
            ok = False
        for needed in (b'"join-room"', b'"room-message"', b'"sender-key"',
                       b'"key-ack"', b'"invite"'):
            if needed not in stream_bytes:
                log("FAIL: the decrypted signaling lacks %s: the relay's "
                    "view was not read" % needed.decode())
                ok = False
        if any(PATTERN in d for d in datagrams):
            log("FAIL: the relay's view contains media plaintext")
            ok = False
        all_hex = "".join(datagrams) + stream_bytes.hex()
        for k in keys:
            raw = bytes.fromhex(k)
            secret = raw[:32].hex()
            b64 = base64.b64encode(raw[:30]).decode().encode()
            if secret in all_hex or b64 in stream_bytes:
                log("FAIL: the relay saw sender key %s..." % k[:16])
                ok = False
        log("%d sender keys, none in the relay's view" % len(keys)
            if ok else "")
        if not ok:
            for f in ("relay.log", "alice.json.err"):
                log("---", f)
                log(open(os.path.join(work, f)).read()[-3000:])
            return 1
        log("PASS")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
