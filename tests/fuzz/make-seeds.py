#!/usr/bin/env python3
# Writes the seed corpus in tests/fuzz/corpus/.  Run from the source root:
#   python3 tests/fuzz/make-seeds.py
# The seeds are committed; rerun only to change them.  Needs the openssl
# command for the certificate seeds.  Regression inputs from real fuzzer
# finds go in the same directories under names starting "crash-"; this
# script leaves them alone.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import base64
import json
import os
import re
import struct
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def frame(body):
    return struct.pack('>I', len(body)) + body


def chunks(data, sizes):
    """The framer target's input: a length byte before every chunk."""
    out, i, k = b'', 0, 0
    while i < len(data):
        n = min(sizes[k % len(sizes)], len(data) - i, 255)
        out += bytes([n]) + data[i:i + n]
        i += n
        k += 1
    return out


# --- framer: first byte picks the limit (index 5 = 1000 bytes) ----------
stream = frame(b'hello') + frame(b'') + frame(b'x' * 300) + frame(b'end')
write('framer', 'frames-whole', bytes([5]) + chunks(stream, [255]))
write('framer', 'frames-bytewise', bytes([5]) + chunks(stream, [1]))
write('framer', 'frames-odd-chunks', bytes([5]) + chunks(stream, [3, 7, 2]))
over = frame(b'a' * 40) + frame(b'b' * 5) + frame(b'c' * 17)
write('framer', 'oversize', bytes([3]) + chunks(over, [6, 1, 30]))
write('framer', 'partial-tail', bytes([5]) + chunks(frame(b'y' * 50)[:20],
                                                    [4]))
write('framer', 'huge-declared', bytes([6]) + chunks(b'\xff\xff\xff\xff' +
                                                     b'z' * 40, [9]))

# --- media-open: records of op, u16 length, body -------------------------
def raw(packet, room=0):
    return bytes([room << 2]) + struct.pack('>H', len(packet)) + packet


def sealed(seq, payload, flip=None, room=0, marker=False):
    op = 1 | (room << 2) | (0x10 if marker else 0) | (2 if flip is not None
                                                      else 0)
    return (bytes([op]) + struct.pack('>H', len(payload)) +
            struct.pack('>IH', seq, flip or 0) + payload)


hdr = bytes([0x10, 1]) + struct.pack('>III', 0x5157a11d, 7, 7 * 960)
write('media-open', 'raw-forged', raw(hdr + b'p' * 20 + b't' * 16))
write('media-open', 'raw-short', raw(hdr[:9]))
write('media-open', 'raw-bad-version', raw(b'\x20' + hdr[1:] + b'q' * 16))
write('media-open', 'raw-wrong-stream',
      raw(bytes([0x10, 1]) + struct.pack('>III', 1, 7, 0) + b'r' * 16))
write('media-open', 'sealed-in-order',
      b''.join(sealed(s, b'opus%d' % s, marker=(s == 0)) for s in range(5)))
write('media-open', 'sealed-reorder-replay',
      sealed(10, b'a') + sealed(8, b'b') + sealed(9, b'c') + sealed(8, b'd') +
      sealed(2000, b'e') + sealed(900, b'f') + sealed(1990, b'g'))
write('media-open', 'sealed-tampered',
      sealed(3, b'tamper me', flip=0) + sealed(4, b'tamper me', flip=200) +
      sealed(5, b'tamper me', flip=300))
write('media-open', 'sealed-small-room',
      sealed(1, b'z' * 40, room=2) + sealed(2, b'', room=1) +
      sealed(0xffffffff, b'last', room=0))

# --- jitter: latency bounds, first seq/ts, then ops ----------------------
def push(step, frame_ms=20, advance_ms=None):
    op = 0
    out = b''
    if advance_ms is not None:
        op |= 0x80
        out = struct.pack('>H', advance_ms * 1000)
    return bytes([op]) + out + bytes([(step + 8) & 0x1f, frame_ms])


def pop(advance_ms=0):
    return bytes([0x85]) + struct.pack('>H', advance_ms * 1000)


head = bytes([40]) + struct.pack('>H', 200) + struct.pack('>II', 100, 4800)
write('jitter', 'steady', head + b''.join(push(1, 20, 20) + pop(0)
                                          for _ in range(20)) + pop(60000 // 1000))
write('jitter', 'reorder-loss',
      head + push(1, 20, 20) + push(2, 20, 20) + push(-1, 20, 1) +
      push(3, 20, 20) + pop(30) + push(5, 20, 20) + pop(65) + pop(65) +
      push(-6, 20, 5) + pop(65))
write('jitter', 'jump-flush-latency',
      head + push(1, 20, 20) + pop(50) +
      bytes([0x04]) + struct.pack('>II', 0xfffffff0, 0xffff0000) +
      push(1, 20, 20) + push(1, 20, 20) + pop(65) +
      bytes([0x06, 10]) + struct.pack('>H', 50) + push(1, 20, 20) + pop(65) +
      bytes([0x46]) + push(1, 10, 10) + pop(65))
# Silence concealed (op 0x47 switches it on): a stream, 1 s of nothing
# popped in 20 ms steps, then the stream again further on.
write('jitter', 'conceal-silence',
      head + bytes([0x47]) + b''.join(push(1, 20, 20) + pop(0)
                                      for _ in range(5)) +
      b''.join(pop(20) for _ in range(50)) + push(30, 20, 20) +
      push(1, 20, 20) + pop(65) + pop(65))
write('jitter', 'wrap', bytes([20]) + struct.pack('>H', 100) +
      struct.pack('>II', 0xfffffffc, 0xfffff000) +
      b''.join(push(1, 20, 20) + pop(20) for _ in range(10)) + pop(65))

# --- certificate ---------------------------------------------------------
with tempfile.TemporaryDirectory() as tmp:
    def cert(keyargs, name):
        key = os.path.join(tmp, name + '.key')
        der = os.path.join(tmp, name + '.der')
        subprocess.run(['openssl', 'genpkey', '-out', key] + keyargs,
                       check=True, capture_output=True)
        subprocess.run(['openssl', 'req', '-x509', '-key', key, '-subj',
                        '/CN=seed', '-days', '1', '-outform', 'DER',
                        '-out', der], check=True, capture_output=True)
        with open(der, 'rb') as f:
            return f.read()

    ed = cert(['-algorithm', 'ed25519'], 'ed')
    write('certificate', 'ed25519-self-signed', ed)
    bad = bytearray(ed)
    bad[-1] ^= 1
    write('certificate', 'ed25519-bad-signature', bytes(bad))
    write('certificate', 'ed25519-truncated', ed[:len(ed) // 2])
    write('certificate', 'ec-p256', cert(['-algorithm', 'EC', '-pkeyopt',
                                          'ec_paramgen_curve:P-256'], 'ec'))
    write('certificate', 'garbage', b'\x30\x82\xff\xff' + b'\x00' * 12)

# --- room-invite: first byte 0 token, 1 JSON object, 2 room id -----------
# Real signed invitations come from the wzp tool (WZP_TOOL=build/tools/wzp);
# without it these seeds are left as they are.
wzp_tool = os.environ.get('WZP_TOOL')
if wzp_tool:
    import base64
    import json
    with tempfile.TemporaryDirectory() as tmp:
        owner = os.path.join(tmp, 'owner.key')
        subprocess.run([wzp_tool, 'keygen', owner], check=True,
                       capture_output=True)
        member = '1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d'
        token = subprocess.run([wzp_tool, 'invite', '-i', owner, '--room',
                                'standup', '--member', member, '--valid',
                                '3650d'], check=True, capture_output=True,
                               text=True).stdout.strip()
    body = token[len('wzpinv1.'):]
    obj = json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)))
    write('room-invite', 'token', b'\x00' + token.encode())
    write('room-invite', 'token-truncated', b'\x00' + token[:-7].encode())
    write('room-invite', 'json', b'\x01' + json.dumps(obj).encode())
    tampered = dict(obj, expires=obj['expires'] + 1)
    write('room-invite', 'json-tampered', b'\x01' + json.dumps(tampered)
          .encode())
    wrong = dict(obj, owner_key='AAAA', member=12)
    write('room-invite', 'json-wrong-types', b'\x01' + json.dumps(wrong)
          .encode())
write('room-invite', 'room-owned',
      b'\x02' + b'1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d/standup')
write('room-invite', 'room-open', b'\x02lobby')
write('room-invite', 'room-bad', b'\x02' + b'1a2b:3c4d/x/y\x01')

# --- message: every signaling message type of PROTOCOL.md Part A --------
# One valid message per type (the fields PROTOCOL.md §3-§6 give them), a
# few with optional fields, and near misses of the envelope and fields.
FP = "0a1b:2c3d:4e5f:6071:8293:a4b5:c6d7:e8f9"
FP2 = "1111:2222:3333:4444:5555:6666:7777:8888"
CALL_ID = "00112233445566778899aabbccddeeff"


def b64(n, fill=0x41):
    return base64.b64encode(bytes([fill]) * n).decode()


def msg(type_, **fields):
    m = {"v": 1, "type": type_}
    m.update(fields)
    return json.dumps(m, separators=(",", ":")).encode()


OFFER = {"eph": b64(32), "sig": b64(64), "candidates": ["10.0.1.2:40123",
         "[2001:db8::2]:40123"], "nat": "eim"}
BLOB = {"eph": b64(32, 0x42), "sig": b64(64, 0x43)}
messages = {
    "hello": msg("hello", relay_fp=FP, challenge=b64(32),
                 observed_addr="198.51.100.7:40000",
                 probe_addr="0.0.0.0:4434"),
    "hello-no-probe": msg("hello", relay_fp=FP, challenge=b64(32),
                          observed_addr="[2001:db8::7]:40000",
                          probe_addr=None),
    "register": msg("register", public_key=b64(32), signature=b64(64),
                    req=1),
    "registered": msg("registered", fingerprint=FP,
                      observed_addr="198.51.100.7:40000", re=1),
    "error": msg("error", code="too-many", message="too many registrations "
                 "from your network", re=1),
    "reflect": msg("reflect", req=2),
    "reflected": msg("reflected", observed_addr="198.51.100.7:40000", re=2),
    "probe-request": msg("probe-request", token=b64(16)),
    "probe-result": msg("probe-result", token=b64(16),
                        observed_addr="198.51.100.7:40001"),
    "call": msg("call", to=FP2, call_id=CALL_ID, offer=OFFER, req=7),
    "incoming-call": msg("incoming-call", call_id=CALL_ID, **{"from": FP},
                         from_public_key=b64(32), offer=OFFER),
    "call-ringing": msg("call-ringing", call_id=CALL_ID, re=7),
    "answer": msg("answer", call_id=CALL_ID, answer=OFFER),
    "reject": msg("reject", call_id=CALL_ID),
    "call-setup": msg("call-setup", call_id=CALL_ID, peer=FP2,
                      peer_public_key=b64(32), peer_offer_or_answer=OFFER,
                      peer_reflexive="203.0.113.9:5000", channel=4294967295,
                      role="caller", peer_nat="edm"),
    "hangup": msg("hangup", call_id=CALL_ID),
    "call-ended": msg("call-ended", call_id=CALL_ID, reason="peer-gone"),
    "join-room": msg("join-room", room="team", key_blob=BLOB),
    "room-joined": msg("room-joined", room="team", channel=17, members=[
        {"fingerprint": FP2, "public_key": b64(32), "key_blob": BLOB}]),
    "room-update": msg("room-update", room="team", event="joined",
                       fingerprint=FP2, public_key=b64(32), key_blob=BLOB),
    "room-update-left": msg("room-update", room="team", event="left",
                            fingerprint=FP2),
    "leave-room": msg("leave-room", room="team"),
    "room-left": msg("room-left", room="team"),
    "room-message": msg("room-message", room="team", to=None,
                        body={"sender-key": b64(78)}),
    "room-message-relayed": msg("room-message", room="team", to=FP,
                                **{"from": FP2}, body={"text": "hi"}),
    "resume-call": msg("resume-call", call_id=CALL_ID, peer=FP2,
                       peer_public_key=b64(32), role="callee",
                       caller_eph=b64(32, 0x44), callee_eph=b64(32, 0x45),
                       offer_sig=b64(64, 0x46), answer_sig=b64(64, 0x47),
                       req=9),
    "call-resumed": msg("call-resumed", call_id=CALL_ID, channel=17, re=9),
    "call-ended-bad-proof": msg("call-ended", call_id=CALL_ID,
                                reason="bad-proof"),
    "leg": msg("leg", req=3),
    "move": msg("move", relays=[{"addr": "198.51.100.8:4433",
                                 "fingerprint": FP2}]),
    "call-setup-media-relay": msg(
        "call-setup", call_id=CALL_ID, peer=FP2, peer_public_key=b64(32),
        peer_offer_or_answer=OFFER, peer_reflexive="203.0.113.9:5000",
        channel=17, role="caller", peer_nat="eim",
        media_relay={"addr": "198.51.100.8:4433", "fingerprint": FP2}),
    "join-room-owned": msg("join-room", room=FP + "/standup",
                           key_blob=dict(BLOB, invite={
                               "room": "standup", "owner_key": b64(32, 0x48),
                               "member": FP2, "expires": 1796536211,
                               "sig": b64(64, 0x49)})),
}
# Every type PROTOCOL.md lists must have a seed.
with open(os.path.join(os.path.dirname(ROOT), "..", "..", "docs",
                       "PROTOCOL.md")) as f:
    documented = set(re.findall(
        r"^(?:relay|client|caller|callee|either)\s+\u2192\s+\w+\s+"
        r"([a-z-]+)\s", f.read(), re.M))
documented |= {"reflected", "reject"}        # second on their lines
documented -= {"raw"}                        # the UDP probe packet, not JSON
missing = documented - set(json.loads(m)["type"] for m in messages.values())
assert not missing, "no seed for %s" % missing
for name, data in messages.items():
    write("message", name, data)
# Near misses: envelope, types, fields, sizes.
write("message", "bad-version", b'{"v":2,"type":"reflect"}')
write("message", "unknown-type", b'{"v":1,"type":"teleport"}')
write("message", "req-out-of-range", b'{"v":1,"type":"reflect","req":4294967296}')
write("message", "not-object", b'[1,2,3]')
write("message", "deep", b'{"v":1,"type":"call","offer":' + b'[' * 20 +
      b']' * 20 + b'}')
write("message", "nul", b'{"v":1,"type":"reflect"}\x00')
write("message", "bad-fields", msg("call", to="0A1B:2C3D", call_id="xyz",
                                   offer="not an object"))
write("message", "noncanonical-b64", msg("register", public_key=b64(32)[:-1]
                                         + "B", signature="@@@@"))
write("message", "bad-address", msg("reflected", observed_addr="[::1]:99999"))
write("message", "room-control-char", msg("join-room", room="a\u0001b"))
write("message", "big-opaque", msg("answer", call_id=CALL_ID,
                                   answer={"x": "y" * 5000}))

# --- offer: mode byte (bit 0 answer, bit 1 sign), then the object -------
def offer_seed(mode, obj):
    return bytes([mode]) + json.dumps(obj, separators=(",", ":")).encode()


write("offer", "offer-signed", offer_seed(2, OFFER))
write("offer", "answer-signed", offer_seed(3, dict(OFFER, nat="edm")))
write("offer", "unsigned", offer_seed(0, OFFER))
write("offer", "many-candidates", offer_seed(2, dict(
    OFFER, candidates=["10.0.0.%d:%d" % (i, 1000 + i) for i in range(20)])))
write("offer", "bad-candidates", offer_seed(2, dict(
    OFFER, candidates=[1, None, "x" * 80, "1.2.3.4", "[::1]:5", "::1:5",
                       "256.1.1.1:1", "1.2.3.4:65536", {"a": 1}])))
write("offer", "candidates-not-list", offer_seed(2, dict(OFFER,
                                                         candidates="1.2.3.4:5")))
write("offer", "nat-odd", offer_seed(2, dict(OFFER, nat=["eim"])))
write("offer", "short-eph", offer_seed(2, dict(OFFER, eph=b64(31))))
write("offer", "no-sig", offer_seed(0, {"eph": b64(32)}))


# --- room: a mode byte (bit 0: owned room), then op sequences -----------
# (see fuzz-room.c)
OPEN, OWNED = b"\x00", b"\x01"


def joined(idx, eph=b"\x07" * 32, flags=0):
    return bytes([1, idx]) + eph + bytes([flags])


def listing(channel, n):
    return bytes([2]) + struct.pack(">I", channel) + bytes([n])


def room_message(idx, data, ack=False):
    return bytes([3, idx, 1 if ack else 0]) + struct.pack(">H", len(data)) + \
        data


def left(idx):
    return bytes([4, idx])


def raw(data):
    return bytes([0]) + struct.pack(">H", len(data)) + data


write("room", "join-list-message-leave",
      OPEN + listing(9, 3) + room_message(0, b"\x10\x01" + b"\x00" * 60) +
      room_message(1, b"z" * 78) + room_message(2, b"a" * 20, ack=True) +
      left(2) + left(2))
write("room", "updates-good-and-bad",
      OPEN + listing(1, 0) + joined(0) + joined(1, flags=1) +
      joined(2, flags=2) + joined(3, flags=4) + joined(0, eph=b"\x08" * 32) +
      left(0) + left(3))
write("room", "owned-invitations",
      OWNED + listing(4, 0) + joined(0) + joined(1) + joined(1, flags=8) +
      joined(2, flags=8 | 16) + joined(3, flags=8 | 1) + listing(5, 4) +
      room_message(1, b"q" * 78) + left(1))
write("room", "raw-room-messages",
      OPEN + listing(5, 2) + raw(messages["room-update"]) +
      raw(messages["room-update-left"]) + raw(messages["room-left"]) +
      raw(messages["room-message-relayed"]) +
      raw(msg("room-joined", room="fuzz-room", channel=3, members=[
          {"fingerprint": FP2}, 5, None])))
write("room", "empty-sender-key", OPEN + listing(2, 4) + room_message(3, b""))


# --- envelope: what cluster nodes read from Redis -----------------------
# First byte even: a bus envelope; odd: a node record (fuzz-envelope.c).
NODE = "0123456789abcdef"
NODE2 = "fedcba9876543210"


def env(kind, **fields):
    e = {"v": 1, "kind": kind, "from": NODE}
    e.update(fields)
    return b"\x00" + json.dumps(e, separators=(",", ":")).encode()


envelopes = {
    "client-call": env("client", fp=FP, key=b64(32), observed="127.0.0.1:4000",
                       nat="eim", rtt_us=1500,
                       raw=messages["call"].decode()),
    "deliver-setup": env("deliver", to=FP2, hops=0,
                         raw=messages["call-setup-media-relay"].decode()),
    "gone": env("gone", fp=FP),
    "supersede": env("supersede", fp=FP2),
    "nat": env("nat", fp=FP, nat="edm"),
    "check": env("check", ids=[CALL_ID, "ffeeddccbbaa99887766554433221100"]),
    "check-reply": env("check-reply", ids=[]),
    "ping": env("ping", sent_us=123456789),
    "bad-kind": env("teleport"),
    "bad-from": env("gone", fp=FP, **{"from": "XYZ"}),
    "bad-key": env("client", fp=FP, key="AAAA", observed="1.2.3.4:5",
                   nat="eim", rtt_us=1, raw="{}"),
    "bad-nat": env("nat", fp=FP, nat="cone"),
    "too-many-ids": env("check", ids=[CALL_ID] * 1025),
    "not-json": b"\x00{nope",
    "node": b"\x01" + json.dumps({
        "v": 1, "id": NODE2, "addr": "198.51.100.8:4433",
        "probe": "198.51.100.8:4434", "fp": FP2, "registrations": 12,
        "calls": 3, "rooms": 1, "connections": 14, "draining": False},
        separators=(",", ":")).encode(),
    "node-no-probe": b"\x01" + json.dumps({
        "v": 1, "id": NODE2, "addr": "[2001:db8::8]:4433", "probe": None,
        "fp": FP2, "registrations": 0, "calls": 0, "rooms": 0,
        "connections": 0, "draining": True}, separators=(",", ":")).encode(),
    "node-bad": b"\x01" + json.dumps({
        "v": 1, "id": NODE2, "addr": "nowhere", "fp": FP2,
        "registrations": -1, "calls": 0, "rooms": 0, "connections": 0,
        "draining": "no"}, separators=(",", ":")).encode(),
}
for name, data in envelopes.items():
    write("envelope", name, data)
