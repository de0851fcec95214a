#!/usr/bin/env python3
"""Relay capacity benchmark: wzp-relay, a bare UDP forwarder and coturn,
side by side, driven by the same load generator.

    python3 bench/bench-relay.py [--quick] [--build build] [--steps 500,2000]
                                 [--modes wzp,udp,coturn] [--workers 1]
                                 [--procs 1] [--duration 10] [--warmup 2]
                                 [--relay-cpu 0] [--loadgen-cpu 1]
                                 [--callgrind] [--no-workers-compare]
                                 [--json out.json] [--markdown out.md]

Modes (bench/wzp-loadgen.c sends the same payload, 110 bytes every 20 ms
per client, on the same schedule in every mode):
  wzp     build/tools/wzp-relay (--workers, default 1: one relay core);
          signaling on QUIC, media as channel packets on its media port
  udp     build/bench/udp-forwarder: the physical floor (same packets, a
          channel -> address array, no checks)
  coturn  turnserver (coturn) on loopback, no auth, one relay thread;
          client-to-client TURN: every packet crosses it twice (client ->
          its allocation -> the peer's allocation -> peer), so its
          per-packet figures are reported per packet and per hop

For each mode and each step of the ramp: start the server pinned with
taskset to --relay-cpu, start --procs wzp-loadgen processes pinned to
--loadgen-cpu with the calls split between them, wait until every call is
set up, start them together, and sample the server's CPU time
(/proc/PID/stat, all its threads) over the measured window and its RSS
(/proc/PID/status) after it.  Latency histograms from all loadgen
processes are merged for p50/p99.

Then, unless --no-workers-compare: wzp with --workers 1 and 2 at one step
(see "workers" below), and with --callgrind: instructions per forwarded
packet of each server under callgrind (the measured window only), which a
loaded machine cannot blur.

--json writes {"modes": {MODE: {"us_per_packet", "max_ok_calls",
"kib_per_call", "calls_per_core", "rows": [...], ...}}, "workers": {...},
"callgrind": {...}, "targets": {...}}.  us_per_packet is server CPU per
forwarded packet (end to end: for coturn, two hops) at the highest
lossless step where the generator stayed below 90 % of its core.
"""
import argparse
import contextlib
import io
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import prereqs

CLK_TCK = os.sysconf("SC_CLK_TCK")
LOSS_OK = 0.5       # percent
P99_OK = 5.0        # ms
GEN_BUSY = 90.0     # loadgen CPU % above which a row is no capacity point
PACKETS_PER_CALL = 100   # forwarded per second: 2 directions x 50


def proc_cpu_seconds(pid):
    """utime + stime of the process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Lines:
    """Non-blocking line reader over several processes' stdout."""

    def __init__(self, procs):
        self.procs = procs
        self.buf = {p.stdout.fileno(): b"" for p in procs}
        self.byfd = {p.stdout.fileno(): p for p in procs}

    def wait_all(self, prefix, timeout):
        """Waits until each process printed a line starting with prefix;
        returns {proc: line}."""
        got = {}
        deadline = time.monotonic() + timeout
        while len(got) < len(self.procs):
            for fd, b in list(self.buf.items()):
                p = self.byfd[fd]
                while b"\n" in b and p not in got:
                    line, b = b.split(b"\n", 1)
                    s = line.decode(errors="replace")
                    if s.startswith(prefix):
                        got[p] = s
                self.buf[fd] = b
            if len(got) == len(self.procs):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {prefix}: {len(got)}/"
                                   f"{len(self.procs)}")
            fds = [fd for fd in self.buf if self.byfd[fd] not in got]
            r, _, _ = select.select(fds, [], [], min(left, 1.0))
            for fd in r:
                data = os.read(fd, 1 << 20)
                if not data:
                    p = self.byfd[fd]
                    raise RuntimeError(f"loadgen exited (rc {p.wait()}) "
                                       f"before {prefix}")
                self.buf[fd] += data
        return got


def more_files():
    """coturn keeps a socket per allocation (and per client)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """One server process of a mode, pinned to cpus; under callgrind
    (collection off until collect(True)) when asked."""

    def __init__(self, args, mode, tmp, workers=1, cpus=None,
                 callgrind=None):
        self.mode = mode
        self.fp = None
        self.callgrind_out = callgrind
        if mode == "wzp":
            cmd = [os.path.join(args.build, "tools", "wzp-relay"),
                   "--listen", "127.0.0.1:0", "--probe-listen", "none",
                   "--workers", str(workers),
                   "--identity", os.path.join(tmp, "relay.key"),
                   "--debug", "wzprelay:2"]
        elif mode == "udp":
            cmd = [os.path.join(args.build, "bench", "udp-forwarder"),
                   "--listen", "127.0.0.1:0"]
        else:
            self.port = free_port()
            cmd = ["turnserver", "--no-auth", "--listening-ip", "127.0.0.1",
                   "--listening-port", str(self.port),
                   "--relay-ip", "127.0.0.1", "--relay-threads", "1",
                   "--no-tls", "--no-dtls", "--no-tcp", "--no-tcp-relay",
                   "--no-cli", "--allow-loopback-peers",
                   "--min-port", "20000", "--max-port", "59999",
                   "--no-stdout-log", "--log-file", "/dev/null",
                   "--pidfile", os.path.join(tmp, "turnserver.pid")]
        if callgrind:
            cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   "--callgrind-out-file=" + callgrind] + cmd
        cmd = rt_prefix(args) + ["taskset", "-c", cpus or args.relay_cpu] + cmd
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL,
                                  preexec_fn=more_files)
        if mode == "coturn":
            self.addr = "127.0.0.1:%d" % self.port
            wait_udp_listening(self.port, 30 if callgrind else 10)
            return
        line = self.p.stdout.readline().decode()
        words = line.split()
        if mode == "wzp":
            # wzp-relay 0.1.0 fingerprint FP listening on ADDR (probe ...)
            self.fp, self.addr = words[3], words[6]
        else:
            self.addr = words[3]

    @property
    def pid(self):
        return self.p.pid

    def tool_pid(self):
        """The process valgrind runs the server in: valgrind's launcher
        may start it as a child."""
        for _ in range(100):
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open(f"/proc/{name}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    with open(f"/proc/{name}/cmdline", "rb") as f:
                        cmd = f.read()
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == self.p.pid and b"valgrind" in cmd:
                    return int(name)
            with open(f"/proc/{self.p.pid}/cmdline", "rb") as f:
                if b"valgrind.bin" in f.read():
                    return self.p.pid
            time.sleep(0.05)
        raise RuntimeError("no valgrind process under %d" % self.p.pid)

    def collect(self, on):
        r = subprocess.run(["callgrind_control", "-i", "on" if on else "off",
                            str(self.tool_pid())], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0 or "Error" in r.stdout + r.stderr:
            raise RuntimeError("callgrind_control: %s%s" % (r.stdout,
                                                            r.stderr))

    def stop(self):
        if self.callgrind_out:
            # The tool process writes its counts when it exits.
            try:
                os.kill(self.tool_pid(), signal.SIGTERM)
            except (RuntimeError, ProcessLookupError):
                pass
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(30 if self.callgrind_out else 5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()

    def instructions(self):
        """Ir of the collected window (all threads)."""
        total = 0
        for name in os.listdir(os.path.dirname(self.callgrind_out)):
            path = os.path.join(os.path.dirname(self.callgrind_out), name)
            if not path.startswith(self.callgrind_out):
                continue
            with open(path) as f:
                counts = dict(line.split(":", 1) for line in f
                              if line.startswith(("totals:", "summary:")))
            # "summary" is the last dump's; "totals" the whole run's.
            total += int(counts.get("totals", counts.get("summary", "0")))
        return total


def rt_prefix(args):
    """--rt: server and generator at a real-time priority, so that other
    work on a shared machine cannot delay them (latency tails)."""
    return ["chrt", "-f", "10"] if args.rt else []


def free_port():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_udp_listening(port, timeout):
    deadline = time.monotonic() + timeout
    want = ":%04X" % port
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as f:
            if any(line.split()[1].endswith(want) for line in f
                   if len(line.split()) > 1):
                time.sleep(0.3)
                return
        time.sleep(0.05)
    raise RuntimeError("turnserver did not listen on %d" % port)


def percentile(hist, bucket_ns, q):
    total = sum(hist.values())
    if total == 0:
        return float("nan")
    want = q * total
    acc = 0
    for b in sorted(hist):
        acc += hist[b]
        if acc >= want:
            return (b + 1) * bucket_ns / 1e6   # upper edge, ms
    return float("nan")


def run_step(args, mode, calls, tmp, workers=1, cpus=None, callgrind=None,
             warmup=None, duration=None):
    warmup = args.warmup if warmup is None else warmup
    duration = args.duration if duration is None else duration
    server = Server(args, mode, tmp, workers, cpus, callgrind)
    procs = []
    try:
        time.sleep(0.2)
        rss_base = proc_rss_kib(server.pid)
        n = min(args.procs, calls)
        share = [calls // n + (1 if i < calls % n else 0) for i in range(n)]
        offset = 0
        for s in share:
            cmd = rt_prefix(args) + ["taskset", "-c", args.loadgen_cpu,
                   os.path.join(args.build, "bench", "wzp-loadgen"),
                   "--relay", server.addr, "--calls", str(s), "--wait-go",
                   "--warmup", str(warmup), "--duration", str(duration),
                   "--id-offset", str(offset),
                   "--setup-timeout", str(args.setup_timeout),
                   "--clients-per-socket", str(args.clients_per_socket)]
            cmd += {"wzp": ["--fingerprint", server.fp or ""],
                    "udp": ["--udp"], "coturn": ["--turn"]}[mode]
            offset += s
            procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL,
                                          preexec_fn=more_files))
        lines = Lines(procs)
        t_setup = time.monotonic()
        lines.wait_all("READY", args.setup_timeout + 10)
        setup_s = time.monotonic() - t_setup
        rss_ready = proc_rss_kib(server.pid)
        for p in procs:
            p.stdin.write(b"go\n")
            p.stdin.flush()
        lines.wait_all("MEASURE", warmup + 30)
        if callgrind:
            server.collect(True)
        c0, t0 = proc_cpu_seconds(server.pid), time.monotonic()
        lines.wait_all("DRAIN", duration + 30)
        c1, t1 = proc_cpu_seconds(server.pid), time.monotonic()
        if callgrind:
            server.collect(False)
        rss = proc_rss_kib(server.pid)
        res = lines.wait_all("RESULT", 30)
        for p in procs:
            p.wait()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        server.stop()

    sent = recv = 0
    dur = 0.0
    lg_cpu = 0.0
    hist = {}
    bucket = 10000
    for line in res.values():
        r = json.loads(line.split(" ", 1)[1])
        sent += r["sent"]
        recv += r["received"]
        dur = max(dur, r["duration"])
        lg_cpu += r["loadgen_cpu"]
        bucket = r["hist_bucket_ns"]
        for b, c in r["hist"]:
            hist[b] = hist.get(b, 0) + c
    row = {
        "mode": mode, "calls": calls, "workers": workers, "setup_s": setup_s,
        "pps": recv / dur if dur else 0,
        "offered_pps": sent / dur if dur else 0,
        "forwarded": recv,
        "relay_cpu": 100.0 * (c1 - c0) / (t1 - t0),
        "loadgen_cpu": 100.0 * lg_cpu,
        "loss": 100.0 * (sent - recv) / sent if sent else 100.0,
        "p50": percentile(hist, bucket, 0.50),
        "p99": percentile(hist, bucket, 0.99),
        "rss_mib": rss / 1024.0,
        "kib_per_call": (max(rss, rss_ready) - rss_base) / calls,
    }
    row["us_per_packet"] = (1e4 * row["relay_cpu"] / row["pps"]
                            if row["pps"] else None)
    if callgrind:
        row["instructions"] = server.instructions()
        row["ir_per_packet"] = row["instructions"] / max(recv, 1)
    return row


def ok(r):
    return "error" not in r and r["loss"] < LOSS_OK and r["p99"] < P99_OK


def clean(r):
    """A capacity point: lossless and the generator not saturated."""
    return "error" not in r and r["loss"] < LOSS_OK and \
        r["loadgen_cpu"] < GEN_BUSY and r["pps"] > 0


TITLES = {"wzp": "wzp-relay (channel packets on its media port; signaling "
                 "on QUIC)",
          "udp": "bare UDP forwarder (the floor: recvmmsg/sendmmsg, an "
                 "array lookup)",
          "coturn": "coturn 4.6 (TURN ChannelData, one relay thread; every "
                    "packet crosses it twice)"}


def print_table(mode, rows):
    print(f"\n### {TITLES[mode]}\n")
    print("| calls | pkt/s forwarded | server CPU % | µs/packet | "
          "loadgen CPU % | loss % | p50 ms | p99 ms | server RSS MiB | "
          "KiB/call | ok |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['calls']} | failed: {r['error']} ||||||||||")
            continue
        print(f"| {r['calls']} | {r['pps']:.0f} | {r['relay_cpu']:.1f} | "
              f"{r['us_per_packet']:.2f} | {r['loadgen_cpu']:.1f} | "
              f"{r['loss']:.2f} | {r['p50']:.2f} | {r['p99']:.2f} | "
              f"{r['rss_mib']:.1f} | {r['kib_per_call']:.1f} | "
              f"{'yes' if ok(r) else 'no'} |")


def mode_summary(mode, rows):
    """The JSON numbers of one mode (see the module doc)."""
    good = [r for r in rows if "error" not in r]
    oks = [r for r in good if ok(r)]
    cleans = [r for r in good if clean(r)]
    point = max(cleans, key=lambda r: r["calls"]) if cleans else None
    largest = max(good, key=lambda r: r["calls"]) if good else None
    s = {
        "rows": rows,
        "max_ok_calls": max((r["calls"] for r in oks), default=0),
        "us_per_packet": point["us_per_packet"] if point else None,
        "us_per_packet_calls": point["calls"] if point else None,
        "kib_per_call": largest["kib_per_call"] if largest else None,
        "kib_per_call_calls": largest["calls"] if largest else None,
    }
    hops = 2 if mode == "coturn" else 1
    s["hops"] = hops
    s["us_per_hop"] = (s["us_per_packet"] / hops
                       if s["us_per_packet"] is not None else None)
    # One call is 100 forwarded packets a second; a core has 1e6 µs.
    s["calls_per_core"] = (1e6 / (s["us_per_packet"] * PACKETS_PER_CALL)
                           if s["us_per_packet"] else None)
    return s


def workers_compare(args, tmp, calls):
    """wzp-relay with one worker on one core, then two workers on both
    cores (the generator shares the second), at the same load: CPU per
    forwarded packet.  Two workers forward 2 / (c2 / c1) times what one
    does once each has a core of its own and the generator is elsewhere;
    this machine has two cores, so that is what the per-packet costs
    predict, not a throughput measured at saturation."""
    out = {"calls": calls}
    for w, cpus in ((1, args.relay_cpu), (2, args.all_cpus)):
        try:
            r = run_step(args, "wzp", calls, tmp, workers=w, cpus=cpus)
        except (TimeoutError, RuntimeError) as e:
            out[str(w)] = {"error": str(e)}
            continue
        out[str(w)] = {k: r[k] for k in ("us_per_packet", "relay_cpu", "pps",
                                         "loss", "p99", "loadgen_cpu")}
        out[str(w)]["cpus"] = cpus
        print(f"  workers {w} (CPUs {cpus}), {calls} calls: "
              f"{r['us_per_packet']:.2f} µs/packet, relay "
              f"{r['relay_cpu']:.0f}%, loss {r['loss']:.2f}%", flush=True)
    c1 = out.get("1", {}).get("us_per_packet")
    c2 = out.get("2", {}).get("us_per_packet")
    out["scaling"] = 2 * c1 / c2 if c1 and c2 else None
    return out


def callgrind_runs(args, tmp, modes):
    """Instructions per forwarded packet under callgrind, the measured
    window only (user space: the kernel's UDP work is not in it)."""
    out = {}
    calls = args.callgrind_calls
    runs = [(m, m, 1) for m in modes]
    if "wzp" in modes:
        # The same calls on two workers: does sharing the channel table
        # between threads add work per packet?
        runs.append(("wzp-2-workers", "wzp", 2))
    for name, mode, workers in runs:
        cg = os.path.join(tmp, "callgrind-%s.out" % name)
        for old in os.listdir(tmp):
            if old.startswith(os.path.basename(cg)):
                os.unlink(os.path.join(tmp, old))
        try:
            r = run_step(args, mode, calls, tmp, workers=workers,
                         callgrind=cg, warmup=2, duration=3)
        except (TimeoutError, RuntimeError) as e:
            out[name] = {"error": str(e)}
            continue
        hops = 2 if mode == "coturn" else 1
        out[name] = {"calls": calls, "workers": workers,
                     "instructions": r["instructions"],
                     "forwarded": r["forwarded"], "loss": r["loss"],
                     "ir_per_packet": r["ir_per_packet"],
                     "ir_per_hop": r["ir_per_packet"] / hops}
        print(f"  callgrind {name}: {r['ir_per_packet']:.0f} instructions "
              f"per packet ({r['forwarded']} packets, loss "
              f"{r['loss']:.1f}%)", flush=True)
    return out


def targets(modes, workers):
    """The issue's targets, from this run."""
    w, u, c = (modes.get(m, {}) for m in ("wzp", "udp", "coturn"))
    t = {}
    if w.get("us_per_packet") and u.get("us_per_packet"):
        t["wzp_vs_floor"] = w["us_per_packet"] / u["us_per_packet"]
    if w.get("us_per_packet") and c.get("us_per_hop"):
        t["wzp_vs_coturn_hop"] = w["us_per_packet"] / c["us_per_hop"]
    t["wzp_calls_per_core"] = w.get("calls_per_core")
    t["wzp_max_ok_calls"] = w.get("max_ok_calls")
    t["wzp_kib_per_call"] = w.get("kib_per_call")
    t["workers_scaling"] = workers.get("scaling") if workers else None
    return t


def summarize(results, workers, cg, tgt):
    print("\n### Summary\n")
    for mode, s in results.items():
        line = f"- {mode}: max calls with loss < {LOSS_OK}% and p99 < " \
               f"{P99_OK} ms: **{s['max_ok_calls']}**"
        if s["us_per_packet"] is not None:
            line += (f"; {s['us_per_packet']:.2f} µs of server CPU per "
                     f"forwarded packet at {s['us_per_packet_calls']} calls")
            if s["hops"] > 1:
                line += f" ({s['us_per_hop']:.2f} µs per hop)"
            line += f" → ~{s['calls_per_core']:.0f} calls per server core"
        else:
            line += "; no lossless step with the generator below 90 %"
        if s["kib_per_call"] is not None:
            line += (f"; {s['kib_per_call']:.1f} KiB per call at "
                     f"{s['kib_per_call_calls']} calls")
        print(line)
    if tgt.get("wzp_vs_floor"):
        print(f"- wzp / floor, server CPU per packet: "
              f"{tgt['wzp_vs_floor']:.2f}× (target ≤ 1.5×)")
    if tgt.get("wzp_vs_coturn_hop"):
        print(f"- wzp / coturn per forwarded hop: "
              f"{tgt['wzp_vs_coturn_hop']:.2f}× (target ≤ 1×)")
    if workers and workers.get("scaling"):
        print(f"- workers: {workers['1']['us_per_packet']:.2f} µs/packet "
              f"with 1, {workers['2']['us_per_packet']:.2f} with 2 (at "
              f"{workers['calls']} calls): 2 workers on 2 cores forward "
              f"~{workers['scaling']:.2f}× what 1 does (from per-packet "
              f"cost; target ≥ 1.6×)")
    if cg:
        parts = []
        for mode, r in cg.items():
            if "error" in r:
                parts.append(f"{mode}: failed")
            elif mode == "coturn":
                parts.append(f"coturn {r['ir_per_packet']:.0f} per packet "
                             f"({r['ir_per_hop']:.0f} per hop)")
            else:
                parts.append(f"{mode} {r['ir_per_packet']:.0f}")
        print("- callgrind, user-space instructions per forwarded packet "
              f"(at {args_cg_calls(cg)} calls): " + ", ".join(parts))


def args_cg_calls(cg):
    for r in cg.values():
        if "calls" in r:
            return r["calls"]
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("WZP_BUILD_DIR",
                                                      "build"))
    ap.add_argument("--quick", action="store_true",
                    help="two steps, short windows (~4 min)")
    ap.add_argument("--steps")
    ap.add_argument("--modes", default="wzp,udp,coturn")
    ap.add_argument("--workers", type=int, default=1,
                    help="wzp-relay --workers for the ramp (default 1: "
                    "the server has one core, like the others)")
    ap.add_argument("--procs", type=int, default=1,
                    help="loadgen processes (all on --loadgen-cpu)")
    ap.add_argument("--clients-per-socket", type=int, default=32)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--warmup", type=float)
    ap.add_argument("--setup-timeout", type=float, default=240)
    ap.add_argument("--relay-cpu", default="0")
    ap.add_argument("--loadgen-cpu", default="1")
    ap.add_argument("--all-cpus", default="0,1",
                    help="CPUs of wzp-relay --workers 2 in the comparison")
    ap.add_argument("--workers-calls", type=int, default=1000)
    ap.add_argument("--no-workers-compare", action="store_true")
    ap.add_argument("--callgrind", action="store_true",
                    help="also count instructions per packet (valgrind)")
    ap.add_argument("--callgrind-calls", type=int, default=100)
    ap.add_argument("--rt", action="store_true",
                    help="run server and generator with SCHED_FIFO (chrt; "
                    "root): on a machine shared with other work")
    ap.add_argument("--stop-loss", type=float, default=20.0,
                    help="stop a mode's ramp after a step with more loss")
    ap.add_argument("--json")
    ap.add_argument("--markdown", help="write the tables and summary here")
    args = ap.parse_args()
    modes = args.modes.split(",")
    prereqs.require("bench-relay", args.build)
    if "coturn" in modes:
        prereqs.require("bench-relay-coturn", args.build)
    if args.callgrind:
        prereqs.require("bench-relay-callgrind", args.build)
    if args.steps is None:
        args.steps = "500,2000" if args.quick else \
            "250,500,1000,1500,2000,3000"
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    steps = [int(s) for s in args.steps.split(",")]

    tmp = tempfile.mkdtemp(prefix="wzp-bench-relay-")
    print(f"# relay capacity: {time.strftime('%Y-%m-%d %H:%M:%S')}, "
          f"{os.cpu_count()} CPUs, server on CPU {args.relay_cpu}, "
          f"loadgen ({args.procs} process(es)) on CPU {args.loadgen_cpu}, "
          f"warmup {args.warmup} s, measured {args.duration} s per step")
    results = {}
    for mode in modes:
        rows = []
        for calls in steps:
            t = time.monotonic()
            try:
                r = run_step(args, mode, calls, tmp, workers=args.workers)
            except (TimeoutError, RuntimeError) as e:
                r = {"mode": mode, "calls": calls, "error": str(e)}
            rows.append(r)
            print(f"  {mode} {calls}: " + (
                r.get("error") or
                f"{r['pps']:.0f} pkt/s, server {r['relay_cpu']:.0f}% "
                f"({r['us_per_packet']:.2f} µs/packet), loadgen "
                f"{r['loadgen_cpu']:.0f}%, loss {r['loss']:.2f}%, "
                f"p50 {r['p50']:.2f} p99 {r['p99']:.2f} ms, "
                f"{r['kib_per_call']:.1f} KiB/call "
                f"(setup {r['setup_s']:.1f} s, step "
                f"{time.monotonic() - t:.0f} s)"), flush=True)
            if "error" in r or r["loss"] > args.stop_loss:
                break
        results[mode] = mode_summary(mode, rows)
    workers = None
    if "wzp" in modes and not args.no_workers_compare:
        workers = workers_compare(args, tmp, args.workers_calls)
    cg = callgrind_runs(args, tmp, modes) if args.callgrind else None
    tgt = targets(results, workers)

    md = io.StringIO()
    with contextlib.redirect_stdout(md):
        print("Steps %s calls, %.0f s warm-up, %.0f s measured per step; "
              "server on CPU %s (wzp-relay --workers %d), load generator on "
              "CPU %s; 110-byte payloads every 20 ms per client."
              % ("/".join(map(str, steps)), args.warmup, args.duration,
                 args.relay_cpu, args.workers, args.loadgen_cpu))
        for mode, s in results.items():
            print_table(mode, s["rows"])
        summarize(results, workers, cg, tgt)
    print(md.getvalue())
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md.getvalue())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"modes": results, "workers": workers,
                       "callgrind": cg, "targets": tgt,
                       "steps": steps}, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)
    failed = any("error" in r for s in results.values() for r in s["rows"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
