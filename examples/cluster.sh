#!/bin/sh
# A relay cluster on one machine: a redis-server of its own (a unix socket
# in a temporary directory, nothing saved), three wzp-relay nodes on
# loopback, and a call across them: Bob registers at node 2, Alice at
# node 1 calls him.  The call lives at Bob's node; Alice's node forwards
# her signaling there through Redis and Alice opens a media leg to it
# (docs/CLUSTER.md).  Each side reports what it heard; everything stops
# at the end.
#
#   examples/cluster.sh [BUILD_DIR]        (default: build)
#
# The same with GStreamer, once the nodes run (relay lists work anywhere a
# relay does; a client moves to the next one when its node dies):
#   gst-launch-1.0 -e wzpsrc relay=127.0.0.1:4502,127.0.0.1:4503 \
#       identity=bob.key answer=auto ! oggmux ! filesink location=bob.ogg
#   gst-launch-1.0 audiotestsrc is-live=true ! opusenc ! wzpsink \
#       relay=127.0.0.1:4501,127.0.0.1:4503 identity=alice.key peer=BOB_FP
set -eu
build=${1:-build}
relay="$build/tools/wzp-relay"
wzp="$build/tools/wzp"
for p in "$relay" "$wzp"; do
  [ -x "$p" ] || { echo "$0: $p not built (meson compile -C $build)" >&2; exit 1; }
done
command -v redis-server >/dev/null || {
  echo "$0: redis-server is not installed (Debian package redis-server)" >&2
  exit 1; }

dir=$(mktemp -d /tmp/wzp-cluster-example-XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# Redis: no TCP port, no snapshots, no append-only file.
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
  --save "" --appendonly no --dir "$dir" --loglevel warning \
  > "$dir/redis.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do [ -S "$dir/redis.sock" ] && break; sleep 0.1; done

# Three nodes.  Ports 0 would do as well; fixed ones make the lists below
# readable.
for n in 1 2 3; do
  "$relay" --listen "127.0.0.1:450$n" --probe-listen "127.0.0.1:451$n" \
    --identity "$dir/node$n.key" --redis "unix:$dir/redis.sock" \
    > "$dir/node$n.out" 2> "$dir/node$n.log" &
  pids="$pids $!"
done
sleep 1.5     # every node has announced itself and seen the others
head -n 1 "$dir"/node*.out

bob=$("$wzp" keygen "$dir/bob.key" | awk '{print $NF}')
"$wzp" keygen "$dir/alice.key" > /dev/null

# Bob at node 2 (node 3 if node 2 dies); Alice at node 1 (then node 3).
"$wzp" call -r 127.0.0.1:4502,127.0.0.1:4503 --relay-order listed \
  -i "$dir/bob.key" --path-policy relay-only --duration 5 \
  > "$dir/bob.json" 2> "$dir/bob.log" &
bob_pid=$!
sleep 1
WZP_DEBUG=wzpcall:4 \
  "$wzp" call -r 127.0.0.1:4501,127.0.0.1:4503 --relay-order listed \
  -i "$dir/alice.key" -p "$bob" --path-policy relay-only --hangup-after 3 \
  > "$dir/alice.json" 2> "$dir/alice.log"
wait "$bob_pid" || true

python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
ok = True
for who in ("alice", "bob"):
    with open("%s/%s.json" % (d, who)) as f:
        r = json.load(f)
    print("%-5s %s: sent %d frames, heard %d, active %s ms after start%s" % (
        who, r["state"], r["frames_sent"], r["frames_received"],
        r["active_ms"], ", error: " + r["error"] if r["error"] else ""))
    ok = ok and r["state"] == "ended" and r["frames_received"] > 50
leg = open("%s/alice.log" % d).read().count("opening a media leg")
print("alice opened %d media leg(s) to Bob's node" % leg)
sys.exit(0 if ok and leg else 1)
EOF
