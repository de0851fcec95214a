#!/bin/sh
# The relay forwards media it cannot read, on both of its media paths.
# Two `wzp call` parties talk through a wzp-relay for a few seconds (relay
# path only), twice:
#  1. with the relay's media port: media rides channel packets (not QUIC).
#     The test checks that hundreds of channel packets (first byte 0x40)
#     crossed the media port and that none of them contains the frames'
#     plaintext (each frame is 80 bytes, mostly 0xa5);
#  2. without it (--media-listen none): media rides QUIC datagrams.  The
#     relay writes its TLS key log; tshark decrypts every QUIC packet the
#     relay handled, and the test checks that it really reads inside QUIC
#     (the DATAGRAM payloads start with our media type byte 0x10) and
#     that those payloads never contain the plaintext.
# In both runs the decrypted signaling (QUIC stream data) must not contain
# it either.  Skipped (77) without tshark or without root (capturing on
# loopback).
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
mport=$((port + 2))
pattern=a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5
bob=$("$tools/wzp" keygen "$work/bob.key")
"$tools/wzp" keygen "$work/alice.key" >/dev/null

# call RUN MEDIA: one call through a relay started with --media-listen MEDIA
call() {
  run=$1
  tshark -i lo -f "udp port $port or udp port $mport" -w "$work/$run.pcapng" -q >/dev/null 2>&1 &
  cap=$!
  pids="$pids $cap"
  for i in $(seq 50); do [ -s "$work/$run.pcapng" ] && break; sleep 0.1; done
  sleep 0.5
  WZP_KEYLOG="$work/$run-keys.log" "$tools/wzp-relay" --listen "127.0.0.1:$port" \
    --probe-listen none --media-listen "$2" --identity "$work/relay.key" \
    >"$work/$run-relay.log" 2>&1 &
  relay=$!
  pids="$pids $relay"
  sleep 0.3
  "$tools/wzp" call -r "127.0.0.1:$port" -i "$work/bob.key" --path-policy relay-only \
    >"$work/$run-bob.json" 2>"$work/$run-bob.err" &
  pids="$pids $!"
  sleep 0.3
  "$tools/wzp" call -r "127.0.0.1:$port" -i "$work/alice.key" -p "$bob" \
    --path-policy relay-only --hangup-after 3 >"$work/$run-alice.json" \
    2>"$work/$run-alice.err" \
    || { echo "FAIL: the $run call failed"; cat "$work/$run-alice.err"; exit 1; }
  sleep 1
  kill "$cap" "$relay"; wait "$cap" "$relay" 2>/dev/null
}

# quic RUN FIELD: the decrypted QUIC field (quic.dg, quic.stream_data) of
# every packet of RUN, one value per line
quic() {
  tshark -r "$work/$1.pcapng" -o "tls.keylog_file:$work/$1-keys.log" \
    -d "udp.port==$port,quic" -Y "$2" -T fields -e "$2" 2>/dev/null | tr ',' '\n' | tr -d ':'
}

call channel "127.0.0.1:$mport"
received=$(sed -n 's/.*"frames_received":\([0-9]*\).*/\1/p' "$work/channel-alice.json")
tshark -r "$work/channel.pcapng" -Y "udp.srcport == $mport or udp.dstport == $mport" \
  -T fields -e udp.payload 2>/dev/null | tr -d ':' >"$work/channel.txt"
channel=$(grep -c '^40' "$work/channel.txt")
channel_leaks=$(grep -c "$pattern" "$work/channel.txt")
signaling=$(quic channel quic.stream_data | grep -c .)
signaling_leaks=$(quic channel quic.stream_data | grep -c "$pattern")
echo "channel run: frames received by alice: $received; channel media packets: $channel (with plaintext: $channel_leaks); decrypted signaling frames: $signaling (with plaintext: $signaling_leaks)"
[ "${received:-0}" -ge 100 ] || { echo "FAIL: too few frames crossed the relay"; exit 1; }
[ "$channel" -ge 200 ] || { echo "FAIL: media did not ride the relay's channels"; exit 1; }
[ "$signaling" -ge 4 ] || { echo "FAIL: tshark decrypted too little signaling to judge"; exit 1; }
[ "$channel_leaks" -eq 0 ] || { echo "FAIL: channel packets carry media plaintext"; exit 1; }
[ "$signaling_leaks" -eq 0 ] || { echo "FAIL: the relay's signaling contains media plaintext"; exit 1; }

call quic none
received=$(sed -n 's/.*"frames_received":\([0-9]*\).*/\1/p' "$work/quic-alice.json")
payloads=$(quic quic quic.dg | grep -c .)
media=$(quic quic quic.dg | grep -c '^10')
leaks=$(quic quic quic.dg | grep -c "$pattern")
echo "QUIC run: frames received by alice: $received; datagrams the relay could decrypt: $payloads; wzp media: $media; with plaintext: $leaks"
[ "${received:-0}" -ge 100 ] || { echo "FAIL: too few frames crossed the relay"; exit 1; }
[ "$payloads" -ge 200 ] || { echo "FAIL: tshark decrypted too few relay datagrams to judge"; exit 1; }
[ "$media" -ge 200 ] || { echo "FAIL: decrypted datagrams are not wzp media"; exit 1; }
[ "$leaks" -eq 0 ] || { echo "FAIL: the relay's view contains media plaintext"; exit 1; }
echo "PASS"
