#!/usr/bin/env python3
# Writes the seed corpus in tests/fuzz/corpus/.  Run from the source root:
#   python3 tests/fuzz/make-seeds.py
# The seeds are committed; rerun only to change them.  Needs the openssl
# command for the certificate seeds.  Regression inputs from real fuzzer
# finds go in the same directories under names starting "crash-"; this
# script leaves them alone.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
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
