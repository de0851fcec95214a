#!/bin/sh
# A three-party room: run this in three terminals with three names.
#
#   ./room.sh alice RELAY:4433
#   ./room.sh bob   RELAY:4433
#   ./room.sh carol RELAY:4433
#
# Everyone sends the microphone; the relay forwards it to the others.
# wzpsrc plays one member at a time (the one heard most recently once the
# current speaker pauses for a second) -- see docs/ELEMENTS.md.
set -e
name=${1:?usage: $0 NAME RELAY [ROOM]}
relay=${2:?usage: $0 NAME RELAY [ROOM]}
room=${3:-lobby}

call="session=room relay=$relay identity=$name.key room=$room"
exec gst-launch-1.0 -e \
  autoaudiosrc ! audioconvert ! audioresample ! opusenc ! wzpsink $call \
  wzpsrc $call ! opusdec plc=true ! audioconvert ! audioresample ! \
  autoaudiosink
