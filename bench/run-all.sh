#!/bin/sh
# Runs every benchmark and rewrites its section of docs/BENCHMARKS.md
# (command, date, machine and GStreamer version, its tables, then
# bench/notes/<section-slug>.md), then the summary against the targets from
# the same run.  Needs root (network namespaces, nftables).
#   bench/run-all.sh [--quick] [--profile]
# --quick: the short version of each benchmark (about 17 minutes on 2 cores).
# `./scripts/bootstrap bench [--quick]` installs what the benchmarks need,
# builds, and runs this.  Exits 1 if a benchmark failed or a table cell of
# docs/BENCHMARKS.md holds no result (a dash, INVALID, failed).
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
command="${WZP_BENCH_COMMAND:-sudo bench/run-all.sh${quick:+ $quick}${profile:+ $profile}}"
py=/usr/bin/python3     # Debian's, with PyGObject and numpy
doc="$top/docs/BENCHMARKS.md"

# Everything every benchmark needs, before ten minutes are spent on some.
if ! $py bench/prereqs.py --build "$build" $profile; then
  echo "run-all: prerequisites missing (above); ./scripts/bootstrap bench" \
       "installs them" >&2
  exit 2
fi

out=$(mktemp -d /tmp/wzp-bench-XXXXXX)
load=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
rc=0

# run TITLE CMD...: CMD must take --markdown FILE (the section's tables)
# and --json FILE (what bench/summary.py reads for the targets), check its
# prerequisites with bench/prereqs.py, and exit non-zero when a result is
# missing.  Its section of the doc is rewritten from the markdown.
run() {
  title=$1; shift
  slug=$(echo "$title" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' - | sed 's/-$//')
  t0=$(date +%s)
  echo "run-all: $title: $*"
  if "$@" --markdown "$out/$slug.md" --json "$out/$slug.json"; then
    $py bench/update_doc.py "$doc" "$title" "$out/$slug.md" "sudo $*"
  else
    echo "run-all: $title failed (its section is left as it was)" >&2
    rm -f "$out/$slug.json"
    rc=1
  fi
  printf '%s\t%s\n' "$title" $(( $(date +%s) - t0 )) >> "$out/times.txt"
  echo "run-all: $title: $(( $(date +%s) - t0 )) s"
}

run "Relay capacity" $py bench/bench-relay.py $quick --callgrind

# bench-nat-setup.py writes its own section (--write); add the header.
t0=$(date +%s)
echo "run-all: Call setup on the NAT lab: $py bench/bench-nat-setup.py $quick --write"
if $py bench/bench-nat-setup.py $quick --write; then
  $py bench/update_doc.py --stamp "$doc" "Call setup on the NAT lab" \
    "sudo $py bench/bench-nat-setup.py $quick --write"
else
  echo "run-all: Call setup on the NAT lab failed" >&2
  rc=1
fi
printf '%s\t%s\n' "Call setup on the NAT lab" $(( $(date +%s) - t0 )) \
  >> "$out/times.txt"
echo "run-all: Call setup on the NAT lab: $(( $(date +%s) - t0 )) s"

run "Call setup vs webrtcbin" $py bench/bench-setup-vs-webrtc.py $quick
run "Per-call CPU and memory" $py bench/bench-call-cpu.py $quick $profile
run "Loss" $py bench/bench-loss.py $quick
run "Registration and call setup under loss" \
  $py bench/bench-setup-loss.py $quick
run "Failover and network changes" $py bench/bench-failover.py $quick
run "Symmetric NATs: port spraying" $py bench/bench-symmetric-spray.py
run "10-member room" $py bench/bench-room.py $quick
run "Relay under a handshake flood" $py bench/bench-relay-flood.py $quick \
  --callgrind
run "Relay cluster" $py bench/bench-cluster.py $quick

seconds=$(( $(date +%s) - start ))
$py bench/summary.py "$doc" "$out" "$command" "$seconds" "$load" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" || rc=1
echo "run-all: $seconds s; results in $doc (scratch: $out)"
if ! $py bench/update_doc.py --check "$doc"; then
  echo "run-all: the table cells above hold no result" >&2
  rc=1
fi
exit $rc
