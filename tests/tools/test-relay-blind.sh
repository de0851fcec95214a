#!/bin/sh
# The relay forwards media it cannot read.  Two `wzp call` parties talk
# through a wzp-relay for a few seconds (relay path only); the relay writes
# its TLS key log; tshark decrypts every QUIC packet the relay handled and
# the test checks that it really reads inside QUIC (the DATAGRAM payloads
# start with our media type byte 0x10) and that those payloads never contain
# the frames' plaintext (each frame is 80 bytes, mostly 0xa5).
# Skipped (77) without tshark or without root (capturing on loopback).
set -u
tools="$1"
command -v tshark >/dev/null 2>&1 || { echo "SKIP: tshark is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: capturing on loopback needs root"; exit 77; }

work=$(mktemp -d)
pids=
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + $$ % 20000))
pattern=a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5

tshark -i lo -f "udp port $port" -w "$work/cap.pcapng" -q >/dev/null 2>&1 &
cap=$!
pids="$cap"
for i in $(seq 50); do [ -s "$work/cap.pcapng" ] && break; sleep 0.1; done
sleep 0.5

WZP_KEYLOG="$work/relay-keys.log" "$tools/wzp-relay" --listen "127.0.0.1:$port" \
  --probe-listen none --identity "$work/relay.key" >"$work/relay.log" 2>&1 &
pids="$pids $!"
sleep 0.3
bob=$("$tools/wzp" keygen "$work/bob.key")
"$tools/wzp" call -r "127.0.0.1:$port" -i "$work/bob.key" --path-policy relay-only \
  >"$work/bob.json" 2>"$work/bob.err" &
pids="$pids $!"
sleep 0.3
"$tools/wzp" call -r "127.0.0.1:$port" -i "$work/alice.key" -p "$bob" \
  --path-policy relay-only --hangup-after 3 >"$work/alice.json" 2>"$work/alice.err" \
  || { echo "FAIL: the call failed"; cat "$work/alice.err"; exit 1; }
sleep 1
kill "$cap"; wait "$cap" 2>/dev/null

received=$(sed -n 's/.*"frames_received":\([0-9]*\).*/\1/p' "$work/alice.json")
payloads=$(tshark -r "$work/cap.pcapng" -o "tls.keylog_file:$work/relay-keys.log" \
  -Y quic.dg -T fields -e quic.dg 2>/dev/null | tr ',' '\n' | grep -c .)
leaks=$(tshark -r "$work/cap.pcapng" -o "tls.keylog_file:$work/relay-keys.log" \
  -Y quic.dg -T fields -e quic.dg 2>/dev/null | tr -d ':' | grep -c "$pattern")
media=$(tshark -r "$work/cap.pcapng" -o "tls.keylog_file:$work/relay-keys.log" \
  -Y quic.dg -T fields -e quic.dg 2>/dev/null | tr ',' '\n' | grep -c '^10')
echo "frames received by alice: $received; datagrams the relay could decrypt: $payloads; wzp media: $media; with plaintext: $leaks"
[ "${received:-0}" -ge 100 ] || { echo "FAIL: too few frames crossed the relay"; exit 1; }
[ "$payloads" -ge 200 ] || { echo "FAIL: tshark decrypted too few relay datagrams to judge"; exit 1; }
[ "$media" -ge 200 ] || { echo "FAIL: decrypted datagrams are not wzp media"; exit 1; }
[ "$leaks" -eq 0 ] || { echo "FAIL: the relay's view contains media plaintext"; exit 1; }
echo "PASS"
