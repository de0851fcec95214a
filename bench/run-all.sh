#!/bin/sh
# Runs every benchmark (ours, and the others' when present) and updates
# docs/BENCHMARKS.md.  Needs root (network namespaces, nftables, perf).
#   bench/run-all.sh [--quick] [--profile]
# --quick: 3 setup runs per case, 10 s calls (under 5 minutes for ours).
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
build="${WZP_BUILD_DIR:-$top/build}"
export WZP_BUILD_DIR="$build"
quick=""
profile=""
for a in "$@"; do
  case "$a" in
    --quick) quick=--quick ;;
    --profile) profile=--profile ;;
    *) echo "usage: $0 [--quick] [--profile]" >&2; exit 2 ;;
  esac
done

# Debian 12 packages the peers need (besides scripts/bootstrap's).
need="iproute2 nftables gstreamer1.0-plugins-bad gstreamer1.0-nice gir1.2-gst-plugins-bad-1.0
      python3-gi python3-numpy linux-perf"
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "run-all: installing:$missing"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $missing || exit 1
fi
# wzpsrc/wzpsink (build/gst) are needed by bench-call-cpu and bench-loss.
if ! [ -x "$build/tools/wzp" ] || ! ls "$build"/gst/*.so >/dev/null 2>&1; then
  if [ -d "$build" ]; then
    meson configure "$build" -Dgst=enabled -Dtests=enabled || exit 1
  else
    meson setup "$build" -Dwerror=true -Dgst=enabled -Dtests=enabled || exit 1
  fi
  meson compile -C "$build" || exit 1
fi

out=$(mktemp -d /tmp/wzp-bench-XXXXXX)
doc="$top/docs/BENCHMARKS.md"
rc=0
py=/usr/bin/python3

run() {   # run TITLE CMD...: one of our benchmarks into its doc section
  title=$1; shift
  body="$out/$(echo "$title" | tr -c 'a-zA-Z0-9' _).md"
  echo "run-all: $title: $*"
  if "$@" --markdown "$body"; then
    $py bench/update_doc.py "$doc" "$title" "$body" "sudo $*"
  else
    echo "run-all: $title failed" >&2
    rc=1
  fi
}

# Others' benchmarks, when they are there (they keep their own sections).
for b in bench/bench-relay.py bench/bench-nat-setup.py; do
  if [ -f "$b" ]; then
    echo "run-all: $b $quick"
    $py "$b" $quick || rc=1
  fi
done

run "Call setup vs webrtcbin" $py bench/bench-setup-vs-webrtc.py $quick
run "Per-call CPU and memory" $py bench/bench-call-cpu.py $quick $profile
run "Loss" $py bench/bench-loss.py $quick
run "Registration and call setup under loss" $py bench/bench-setup-loss.py $quick
run "10-member room" $py bench/bench-room.py $quick
echo "run-all: results in $doc (scratch: $out)"
exit $rc
