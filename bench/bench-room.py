#!/usr/bin/python3
"""A 10-member room on this box: per-member CPU, the relay's fan-out CPU,
the cost of mixing, and how long a key rotation takes on join and leave.

  bench/bench-room.py [--quick] [--members N] [--duration S] [--build DIR]
                      [--markdown FILE] [--json FILE]

All on loopback, through one local wzp-relay, in an owned room (the owner
invites everyone with `wzp invite`).

  transport  N `wzp call --room` members, each sending 50 frames/s of 80
             bytes (a 32 kb/s Opus stream's size) and receiving the N-1
             others: per-member CPU (QUIC, E2E ChaCha20-Poly1305, the
             room's keys), the relay's CPU for the fan-out (N x 50 x (N-1)
             datagrams/s), and every member's report of the key rotations
             it made: "a member joined" while the others arrive one by
             one (0.3 s apart), "a member left" when the last one leaves
             at the end.  Rotation time = from the membership change
             reaching the member to sealing with the new key (every
             admitted member acknowledged it).
  mixing     N-1 gst-launch-1.0 members sending real Opus
             (audiotestsrc ! opusenc ! wzpsink), and the owner receiving
             them in one gst-launch-1.0 process, twice:
               pads  wzproomsrc (a pad per member, not linked: receive,
                     jitter buffers, GAPs)
               mix   wzproomsrc mix=true ! fakesink sync=true (the same,
                     plus an opusdec per member and audiomixer)
             The difference is the cost of decoding and mixing N-1
             members.

CPU = utime + stime from /proc/PID/stat over the measured window (after a
warm-up), as % of one core.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import prereqs

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
HZ = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(p, sig=signal.SIGINT, timeout=5):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
            p.wait(timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def launch(argv, out=None, env=None):
    return subprocess.Popen(argv, stdout=out or subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)


def window(procs, seconds):
    """CPU % of one core of each process over @seconds."""
    for p in procs:
        if p.poll() is not None:
            raise RuntimeError("exited early: %s" % p.args)
    c0 = [cpu_s(p.pid) for p in procs]
    t0 = time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    return [100.0 * (cpu_s(p.pid) - c) / dt for p, c in zip(procs, c0)]


class Room:
    def __init__(self, build, n):
        self.tmp = tempfile.mkdtemp(prefix="wzp-bench-room-")
        self.wzp = os.path.join(build, "tools", "wzp")
        self.relay_addr = "127.0.0.1:%d" % free_port()
        self.relay = launch([os.path.join(build, "tools", "wzp-relay"),
                             "--listen", self.relay_addr, "--probe-listen",
                             "none", "--identity",
                             os.path.join(self.tmp, "relay.key")])
        self.keys = []
        for i in range(n):
            key = os.path.join(self.tmp, "m%d.key" % i)
            fp = subprocess.run([self.wzp, "keygen", key], check=True,
                                capture_output=True, text=True).stdout.strip()
            self.keys.append((key, fp))
        self.owner = self.keys[0][1]
        for key, fp in self.keys[1:]:
            subprocess.run([self.wzp, "invite", "-i", self.keys[0][0],
                            "--room", "bench", "--member", fp, "-o",
                            key + ".inv"], check=True, capture_output=True)
        time.sleep(0.3)

    def join_args(self, i):
        key = self.keys[i][0]
        args = ["room=bench", "room-owner=" + self.owner,
                "relay=" + self.relay_addr, "identity=" + key]
        if i > 0:
            args.append("room-invite=@" + key + ".inv")
        return args

    def close(self):
        stop(self.relay, signal.SIGTERM)
        shutil.rmtree(self.tmp, ignore_errors=True)


def transport(build, n, duration):
    room = Room(build, n)
    members, outs = [], []
    try:
        for i in range(n):
            key = room.keys[i][0]
            out = open(os.path.join(room.tmp, "m%d.json" % i), "w")
            cmd = [room.wzp, "call", "-r", room.relay_addr, "-i", key,
                   "--room", "bench", "--room-owner", room.owner]
            if i > 0:
                cmd += ["--room-invite", "@" + key + ".inv"]
            members.append(launch(cmd, out=out))
            outs.append(out)
            time.sleep(0.3)
        time.sleep(2.0)
        cpu = window(members + [room.relay], duration)
        # The last member leaves; the others rotate.
        stop(members[-1])
        time.sleep(2.0)
        for p in members[:-1]:
            stop(p)
        reports = []
        for i in range(n):
            outs[i].close()
            with open(os.path.join(room.tmp, "m%d.json" % i)) as f:
                reports.append(json.load(f))
    finally:
        for p in members:
            stop(p, signal.SIGKILL)
        room.close()
    received = [sum(r.get("room_senders", {}).values()) for r in reports]
    joined = [k["ms"] for r in reports for k in r.get("rekeys", [])
              if k["reason"] == "a member joined"]
    left = [k["ms"] for r in reports for k in r.get("rekeys", [])
            if k["reason"] == "a member left"]
    acked_all = sum(1 for r in reports for k in r.get("rekeys", [])
                    if k["reason"] in ("a member joined", "a member left")
                    and k["acked"] == k["members"])
    total = len(joined) + len(left)
    return {
        "members": n,
        "member_cpu": cpu[:-1],
        "relay_cpu": cpu[-1],
        "fanout_per_s": n * 50 * (n - 1),
        "frames_received": received,
        "heard_all": sum(1 for r in reports
                         if len(r.get("room_senders", {})) >= n - 1),
        "rekey_join_ms": joined,
        "rekey_leave_ms": left,
        "rekeys_all_acked": acked_all,
        "rekeys": total,
    }


def mixing(build, n, duration):
    room = Room(build, n)
    senders = []
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build, "gst"))
    res = {}
    try:
        for i in range(1, n):
            desc = ("audiotestsrc is-live=true wave=sine freq=%d volume=0.2 ! "
                    "audio/x-raw,rate=48000,channels=1 ! opusenc "
                    "bitrate=32000 frame-size=20 ! wzpsink %s"
                    % (300 + 50 * i, " ".join(room.join_args(i))))
            senders.append(launch(["gst-launch-1.0", "-q"] + desc.split(),
                                  env=env))
            time.sleep(0.2)
        for mode in ("pads", "mix"):
            if mode == "mix":
                desc = ("wzproomsrc mix=true %s ! fakesink sync=true"
                        % " ".join(room.join_args(0)))
            else:
                desc = ("wzproomsrc %s  fakesink"
                        % " ".join(room.join_args(0)))
            owner = launch(["gst-launch-1.0", "-q"] + desc.split(), env=env)
            time.sleep(3.0)
            cpu = window([owner] + senders, duration)
            res[mode] = cpu[0]
            res.setdefault("sender_cpu", cpu[1:])
            stop(owner)
            time.sleep(1.5)
    finally:
        for p in senders:
            stop(p)
        room.close()
    res["members"] = n
    return res


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def markdown(t, m, duration):
    lines = [
        "A %d-member owned room on loopback, one relay; CPU over %.0f s, in "
        "%% of one core (measured on a shared, loaded 2-core machine: "
        "compare rows of one run, not runs)." % (t["members"], duration),
        "",
        "| what | value |",
        "|---|---|",
        "| per member, transport (`wzp call`: 50 frames/s out, %d streams "
        "in) | mean %.2f %%, max %.2f %% |"
        % (t["members"] - 1, statistics.mean(t["member_cpu"]),
           max(t["member_cpu"])),
        "| relay, fan-out of %d datagrams/s | %.2f %% |"
        % (t["fanout_per_s"], t["relay_cpu"]),
        "| members that heard all %d others | %d of %d |"
        % (t["members"] - 1, t["heard_all"], t["members"]),
        "| owner receiving %d Opus members, a pad each (`wzproomsrc`) | "
        "%.2f %% |" % (m["members"] - 1, m["pads"]),
        "| owner receiving and mixing them (`mix=true`: %d opusdec + "
        "audiomixer) | %.2f %% |" % (m["members"] - 1, m["mix"]),
        "| mixing cost (difference) | %.2f %% (%.2f %% per member) |"
        % (m["mix"] - m["pads"], (m["mix"] - m["pads"]) / (m["members"] - 1)),
        "| per Opus sender (`audiotestsrc ! opusenc ! wzpsink`, for scale) "
        "| mean %.2f %% |" % statistics.mean(m["sender_cpu"]),
        "| key rotation on a join (%d rotations) | p50 %.1f ms, p90 %.1f ms, "
        "max %.1f ms |" % (len(t["rekey_join_ms"]),
                           pct(t["rekey_join_ms"], 0.5),
                           pct(t["rekey_join_ms"], 0.9),
                           max(t["rekey_join_ms"] or [float("nan")])),
        "| key rotation on a leave (%d rotations) | p50 %.1f ms, max %.1f ms |"
        % (len(t["rekey_leave_ms"]), pct(t["rekey_leave_ms"], 0.5),
           max(t["rekey_leave_ms"] or [float("nan")])),
        "| rotations that switched with every member's acknowledgement | "
        "%d of %d |" % (t["rekeys_all_acked"], t["rekeys"]),
    ]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--members", type=int, default=10)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    prereqs.require("bench-room", build=a.build)
    duration = a.duration or (8.0 if a.quick else 20.0)
    t = transport(a.build, a.members, duration)
    print(json.dumps(t), flush=True)
    m = mixing(a.build, a.members, duration)
    print(json.dumps(m), flush=True)
    text = markdown(t, m, duration)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"transport": t, "mixing": m}, f)
    ok = t["heard_all"] == t["members"] and t["rekey_join_ms"] and \
        t["rekey_leave_ms"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
