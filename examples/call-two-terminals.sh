#!/bin/sh
# A two-way call between two terminals (or two machines).
#
#   terminal 1:  wzp-relay --listen 0.0.0.0:4433
#   terminal 2:  ./call-two-terminals.sh bob   RELAY:4433
#   terminal 3:  ./call-two-terminals.sh alice RELAY:4433 BOB_FINGERPRINT
#
# Without a fingerprint the script waits for a call (answer=auto); Bob's
# fingerprint is printed when his identity file is created (or run
# `wzp fingerprint bob.key`).  Both sides send the microphone and play the
# far end; wzpsrc and wzpsink share the call through session=call.
set -e
name=${1:?usage: $0 NAME RELAY [PEER_FINGERPRINT]}
relay=${2:?usage: $0 NAME RELAY [PEER_FINGERPRINT]}
peer=${3:-}

call="session=call relay=$relay identity=$name.key"
if [ -n "$peer" ]; then
  call="$call peer=$peer"
else
  call="$call answer=auto"
fi

exec gst-launch-1.0 -e \
  autoaudiosrc ! audioconvert ! audioresample ! opusenc ! wzpsink $call \
  wzpsrc $call ! opusdec plc=true ! audioconvert ! audioresample ! \
  autoaudiosink
