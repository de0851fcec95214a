#!/bin/sh
# tshark, given WZP_KEYLOG's key log, must decrypt our QUIC: the TLS
# handshake messages and the DATAGRAM frames.  Skipped (77) without tshark
# or without the right to capture on loopback.
set -u
wzp="$1"
command -v tshark >/dev/null 2>&1 || { echo "SKIP: tshark is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: capturing on loopback needs root"; exit 77; }

work=$(mktemp -d)
cap=
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$cap" ] && kill "$cap" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + $$ % 20000))

"$wzp" keygen "$work/server.key" >/dev/null || exit 1
tshark -i lo -f "udp port $port" -w "$work/cap.pcapng" -q >/dev/null 2>&1 &
cap=$!
# dumpcap needs a moment before it sees packets.
for i in $(seq 50); do
  [ -s "$work/cap.pcapng" ] && break
  sleep 0.1
done
sleep 0.5
WZP_KEYLOG="$work/keys.log" "$wzp" echo-server --listen "127.0.0.1:$port" \
  --identity "$work/server.key" >/dev/null 2>&1 &
server=$!
sleep 0.3
WZP_KEYLOG="$work/keys.log" "$wzp" echo-client --server "127.0.0.1:$port" \
  --messages 5 --datagrams 50 --timeout 10 || { echo "FAIL: echo did not complete"; exit 1; }
sleep 1
kill "$cap"; wait "$cap" 2>/dev/null; cap=

grep -q CLIENT_HANDSHAKE_TRAFFIC_SECRET "$work/keys.log" || { echo "FAIL: key log has no handshake secrets"; exit 1; }
hs=$(tshark -r "$work/cap.pcapng" -o "tls.keylog_file:$work/keys.log" \
  -Y "tls.handshake.type == 11" 2>/dev/null | wc -l)
dg=$(tshark -r "$work/cap.pcapng" -o "tls.keylog_file:$work/keys.log" \
  -T fields -e quic.frame_type -Y quic 2>/dev/null | tr ',' '\n' | grep -c -E '^(48|49)$')
nokey=$(tshark -r "$work/cap.pcapng" -T fields -e quic.frame_type -Y quic 2>/dev/null \
  | tr ',' '\n' | grep -c -E '^(48|49)$')
echo "certificates decoded: $hs, DATAGRAM frames decoded: $dg (without the key log: $nokey)"
[ "$hs" -ge 2 ] || { echo "FAIL: tshark did not decode both Certificate messages"; exit 1; }
[ "$dg" -ge 100 ] || { echo "FAIL: expected >= 100 DATAGRAM frames (50 each way)"; exit 1; }
[ "$nokey" -eq 0 ] || { echo "FAIL: DATAGRAM frames readable without keys?"; exit 1; }
echo "PASS"
