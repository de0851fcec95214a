#!/bin/sh
# Answer calls and record the far end to an Ogg Opus file, without
# decoding (wzpsrc's caps carry the Opus headers oggmux needs).  The file
# is finalized when the caller hangs up (wzpsrc sends EOS) or on Ctrl-C
# (-e).  The caller hears a 440 Hz tone.
#
#   ./record-call.sh RELAY:4433 [call.ogg]
set -e
relay=${1:?usage: $0 RELAY [FILE.ogg]}
out=${2:-call.ogg}

call="session=rec relay=$relay identity=recorder.key answer=auto"
exec gst-launch-1.0 -e \
  audiotestsrc is-live=true freq=440 ! opusenc ! wzpsink $call \
  wzpsrc $call latency=100 ! oggmux ! filesink location="$out"
