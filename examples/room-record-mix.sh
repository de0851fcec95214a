#!/bin/sh
# A whole 3-party room on this machine, recorded mixed to one file.
#
#   ./room-record-mix.sh [SECONDS] [OUT.ogg]
#
# Starts a wzp-relay on loopback, makes an owner and three members
# (invited by the owner with `wzp invite`), lets the members say 440, 660
# and 880 Hz, and records the room as the owner hears it -- every member
# decoded and mixed by wzproomsrc mix=true -- to OUT.ogg (default
# room.ogg).  Half-way through, the 880 Hz member leaves: the recording
# goes on with the other two.  Play it with `gst-play-1.0 room.ogg`.
#
# Needs wzp, wzp-relay and the wzp plugin: from a build tree, run
#   PATH=$PWD/build/tools:$PATH GST_PLUGIN_PATH=$PWD/build/gst examples/room-record-mix.sh
set -e
seconds=${1:-10}
out=$(realpath -m "${2:-room.ogg}")
work=$(mktemp -d)
pids=
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
cd "$work"

port=$((20000 + $$ % 20000))
relay=127.0.0.1:$port
wzp-relay --listen "$relay" --probe-listen none --identity relay.key \
  >relay.log 2>&1 &
pids="$pids $!"

owner=$(wzp keygen owner.key)
room="room=standup room-owner=$owner relay=$relay"
echo "room $owner/standup on relay $relay"

# The owner records; -e: Ctrl-C or the kill below finalizes the file.
gst-launch-1.0 -e wzproomsrc $room identity=owner.key mix=true ! \
  audioconvert ! opusenc ! oggmux ! filesink location="$out" >owner.log 2>&1 &
recorder=$!
pids="$pids $recorder"

for freq in 440 660 880; do
  fp=$(wzp keygen m$freq.key)
  wzp invite -i owner.key --room standup --member "$fp" --valid 1h \
    -o m$freq.invite 2>/dev/null
  gst-launch-1.0 -e audiotestsrc is-live=true freq=$freq volume=0.3 ! \
    audio/x-raw,rate=48000,channels=1 ! opusenc ! \
    wzpsink $room identity=m$freq.key room-invite=@m$freq.invite \
    >m$freq.log 2>&1 &
  eval member$freq=$!
  pids="$pids $!"
  echo "member $fp says $freq Hz"
done

sleep $((seconds / 2))
echo "the 880 Hz member leaves"
kill -INT "$member880"
sleep $((seconds - seconds / 2))
kill -INT "$recorder"
wait "$recorder" || true
echo "recorded $out"
