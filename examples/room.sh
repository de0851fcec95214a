#!/bin/sh
# A room of three: run it in three terminals.
#
#   ./room.sh owner RELAY:4433                       # creates owner.key, prints its fingerprint
#   wzp invite -i owner.key --room lobby --member BOB_FP -o bob.invite
#   ./room.sh bob   RELAY:4433 OWNER_FP bob.invite
#   ./room.sh carol RELAY:4433 OWNER_FP carol.invite
#
# Everyone sends the microphone and hears every other member, mixed
# (wzproomsrc mix=true).  The room is the owner's: only members it invited
# get the keys, and the relay cannot listen (docs/PROTOCOL.md, "Rooms").
set -e
name=${1:?usage: $0 NAME RELAY [OWNER_FP INVITE_FILE] [ROOM]}
relay=${2:?usage: $0 NAME RELAY [OWNER_FP INVITE_FILE] [ROOM]}
owner=$3
invite=$4
room=${5:-lobby}

if [ -z "$owner" ]; then
  # We own the room.
  [ -f "$name.key" ] || wzp keygen "$name.key" >/dev/null
  owner=$(wzp fingerprint "$name.key")
  echo "room $owner/$room; invite members with:"
  echo "  wzp invite -i $name.key --room $room --member THEIR_FP -o THEM.invite"
  join="room=$room room-owner=$owner"
else
  join="room=$room room-owner=$owner room-invite=@$invite"
fi

call="session=room relay=$relay identity=$name.key $join"
exec gst-launch-1.0 -e \
  autoaudiosrc ! audioconvert ! audioresample ! opusenc ! wzpsink $call \
  wzproomsrc $call mix=true ! audioconvert ! audioresample ! autoaudiosink
