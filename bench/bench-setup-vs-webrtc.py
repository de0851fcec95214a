#!/usr/bin/python3
"""Call setup: wzp vs webrtcbin on the NAT lab, side by side in one run.

  sudo bench/bench-setup-vs-webrtc.py [--quick] [--runs N] [--build DIR]
                                      [--markdown FILE] [--json FILE]

Topologies: home<->home (20 ms one way on every internet edge, RTT 40 ms)
and samelan (both hosts on one LAN behind one home NAT; relay and STUN
20 ms away).  In the relay namespace: wzp-relay (203.0.113.10:4433, NAT
probe on .11:4434), and bench/webrtc_servers.py (STUN 203.0.113.10:3478,
TCP signaling 203.0.113.10:8443).  The callee B starts first and waits
(wzp: registered; webrtcbin: signaling connected, DTLS certificate made);
then the caller A starts.

t0, the same moment for both systems:
  cold  the caller starts talking to its server: wzp from wzp_call_start()
        (QUIC handshake to the relay, registration, NAT probe, offer);
        webrtcbin from its TCP connect to the signaling server, with
        create-offer emitted at the same instant.  webrtcbin's first call
        in a process also generates its DTLS certificate (RSA, ~0.5 s);
        that is in "cold" because every fresh webrtcbin process pays it.
  warm  the caller is already connected to its server: wzp from the moment
        the offer is sent (registered, NAT type known: the log line
        "calling ..."), webrtcbin from create-offer (signaling connected,
        certificate cached).
Both sides' times come from CLOCK_MONOTONIC in each process.

Measured (ms after t0): first audio at the caller and at the callee (wzp:
first media frame received, relay path at first; webrtcbin: first
decrypted RTP buffer out of webrtcbin, jitter-buffer latency 0), both
ends (the later of the two), and the direct path (wzp: both peers agreed
on direct, the later side; webrtcbin: ICE connected at the caller, and
DTLS connected).  Round trips = ms / 40 (the lab's RTT).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "nat"))
from natlab import NatLab, cleanup_all  # noqa: E402
import prereqs  # noqa: E402

PY = "/usr/bin/python3"      # the Debian python that has PyGObject
RTT_MS = 40.0
RELAY = "203.0.113.10"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Proc:
    """A process in a namespace whose stderr is read in a thread."""

    def __init__(self, lab, ns, argv, env=None):
        self.p = lab.popen(ns, argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
        self.err = []
        self.ev = threading.Event()
        self.want = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stderr:
            self.err.append(line)
            if self.want and self.want in line:
                self.ev.set()

    def wait_for(self, text, timeout):
        self.want = text
        if any(text in l for l in self.err):
            return True
        return self.ev.wait(timeout)

    def result(self, timeout):
        try:
            out, _ = self.p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, _ = self.p.communicate()
        for line in reversed(out.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        return None

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(3)
            except subprocess.TimeoutExpired:
                self.p.kill()


def wzp_run(lab, tool, bob_key, bob_fp, workdir):
    callee = Proc(lab, "b", [tool, "call", "-r", RELAY + ":4433", "-i",
                             bob_key, "-d", "3"])
    if not callee.wait_for("wzp call: waiting", 10):
        callee.stop()
        return {"error": "callee never registered: " + "".join(callee.err)}
    caller = Proc(lab, "a", [tool, "call", "-r", RELAY + ":4433", "-p",
                             bob_fp, "-d", "2", "-t", "10"])
    A = caller.result(20)
    B = callee.result(20)
    if not A or not B or A.get("active_ms") is None:
        return {"error": "wzp call failed: %s %s" % (A, "".join(caller.err))}
    a0 = A["start_mono_us"] / 1000.0
    b0 = B["start_mono_us"] / 1000.0

    def abs_a(*keys):
        vals = [A.get(k) for k in keys]
        return None if None in vals else a0 + sum(vals)

    def abs_b(*keys):
        vals = [B.get(k) for k in keys]
        return None if None in vals else b0 + sum(vals)

    ev = {
        "caller_first_audio": abs_a("active_ms", "first_media_ms"),
        "callee_first_audio": abs_b("active_ms", "first_media_ms"),
        "direct_caller": abs_a("active_ms", "direct_ms"),
        "direct_callee": abs_b("active_ms", "direct_ms"),
        "caller_active": abs_a("active_ms"),
    }
    if ev["direct_caller"] and ev["direct_callee"]:
        ev["direct"] = max(ev["direct_caller"], ev["direct_callee"])
    else:
        ev["direct"] = None
    out = {"final_path": A.get("final_path"),
           "registered_ms": A.get("registered_ms"),
           "placed_ms": A.get("placed_ms")}
    for mode, t0 in (("cold", a0), ("warm", abs_a("placed_ms"))):
        out[mode] = rel(ev, t0)
    return out


def rel(ev, t0):
    r = {}
    for k, v in ev.items():
        r[k] = None if (v is None or t0 is None) else v - t0
    fa = [r.get("caller_first_audio"), r.get("callee_first_audio")]
    r["both_first_audio"] = None if None in fa else max(fa)
    return r


def webrtc_run(lab, mode, samelan):
    peer = os.path.join(HERE, "webrtc_peer.py")
    common = ["--signal", RELAY + ":8443", "--stun", RELAY + ":3478",
              "--duration", "0.5", "--timeout", "12"]
    callee = Proc(lab, "b", [PY, peer, "--role", "callee"] + common)
    if not callee.wait_for("ready", 15):
        callee.stop()
        return {"error": "webrtc callee not ready: " + "".join(callee.err)}
    time.sleep(0.3)     # its TCP connection to the signaling server is up
    caller = Proc(lab, "a", [PY, peer, "--role", "caller", "--mode", mode]
                  + common)
    A = caller.result(25)
    B = callee.result(25)
    if not A or not B or "first_rx" not in A or "first_rx" not in B:
        return {"error": "webrtc %s failed: %s %s %s" % (
            mode, A, B, "".join(caller.err)[-2000:])}
    t0 = A["t0"] * 1000.0
    ms = lambda d, k: d[k] * 1000.0 if k in d else None  # noqa: E731
    ev = {
        "caller_first_audio": ms(A, "first_rx"),
        "callee_first_audio": ms(B, "first_rx"),
        "ice_connected": ms(A, "ice_connected"),
        "dtls_connected": ms(A, "connected"),
        "offer_ready": ms(A, "offer_sent"),
        "answer_ready": ms(B, "answer_sent"),
        "offer_rx": ms(B, "offer_rx"),
    }
    r = rel(ev, t0)
    # the direct path of webrtcbin is the ICE pair it media flows on
    r["direct"] = r["both_first_audio"]
    r["candidates_caller"] = sorted(set(A.get("candidates", [])))
    return r


def fmt(v, digits=0):
    if v is None:
        return "—"
    return ("%." + str(digits) + "f") % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return "%.2f" % (a / b)


def summarize(results):
    """results[topo][system][mode] -> list of dicts; returns markdown."""
    rows = [
        ("caller hears callee", "caller_first_audio"),
        ("callee hears caller", "callee_first_audio"),
        ("both hear each other", "both_first_audio"),
        ("direct path (both sides)", "direct"),
    ]
    md = []
    for topo, sysres in results.items():
        for mode in ("cold", "warm"):
            w = sysres["wzp"][mode]
            r = sysres["webrtc"][mode]
            md.append("\n**%s, %s** (median of %d wzp / %d webrtcbin runs; "
                      "min–max in brackets)\n" % (topo, mode, len(w), len(r)))
            md.append("| event | wzp ms | wzp RTTs | webrtcbin ms | "
                      "webrtcbin RTTs | wzp / webrtcbin | webrtcbin / wzp |")
            md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for name, key in rows:
                wv = [x.get(key) for x in w if x.get(key) is not None]
                rv = [x.get(key) for x in r if x.get(key) is not None]
                wm, rm = median(wv), median(rv)
                rng = lambda v: (" [%s–%s]" % (fmt(min(v)), fmt(max(v)))  # noqa
                                 if len(v) > 1 else "")
                md.append("| %s | %s%s | %s | %s%s | %s | %s | %s |" % (
                    name, fmt(wm), rng(wv),
                    fmt(wm / RTT_MS if wm is not None else None, 1),
                    fmt(rm), rng(rv),
                    fmt(rm / RTT_MS if rm is not None else None, 1),
                    ratio(wm, rm), ratio(rm, wm)))
            # Per run (run i of wzp with run i of webrtcbin): the target
            # is a ratio, so its worst run matters, not only the median.
            pairs = [(x.get("both_first_audio"), y.get("both_first_audio"))
                     for x, y in zip(w, r)]
            per = [y / x for x, y in pairs if x and y]
            if per:
                md.append("\nPer run, webrtcbin / wzp (both hear each "
                          "other): %s; worst %.2f." % (
                              ", ".join("%.2f" % v for v in per), min(per)))
            extra = []
            ice = median([x.get("ice_connected") for x in r])
            dtls = median([x.get("dtls_connected") for x in r])
            offer = median([x.get("offer_ready") for x in r])
            ans = median([x.get("answer_ready") for x in r])
            extra.append("webrtcbin breakdown: offer made %s ms, answer made "
                         "%s ms, ICE connected %s ms, DTLS connected %s ms" %
                         (fmt(offer), fmt(ans), fmt(ice), fmt(dtls)))
            paths = sorted(set(x.get("final_path") or "?"
                               for x in sysres["wzp"]["raw"]))
            extra.append("wzp final path: %s" % ", ".join(paths))
            md.append("\n" + "; ".join(extra) + ".")
            errs = sysres["errors"]
            if errs:
                md.append("\nFailed runs: %d (%s)" % (
                    len(errs), "; ".join(e[:160] for e in errs[:3])))
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 runs per case")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--topologies", default="home,samelan")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    prereqs.require("bench-setup-vs-webrtc", a.build)
    runs = a.runs or (3 if a.quick else 8)
    os.environ.setdefault("WZP_DELAYBRIDGE", os.path.join(
        a.build, "tests", "nat", "wzp-delaybridge"))
    tool = os.path.join(a.build, "tools", "wzp")
    relay_bin = os.path.join(a.build, "tools", "wzp-relay")
    if os.geteuid() != 0:
        print("bench-setup-vs-webrtc: needs root (network namespaces)",
              file=sys.stderr)
        return 77
    cleanup_all()
    work = tempfile.mkdtemp(prefix="wzp-bench-setup-")
    bob_key = os.path.join(work, "bob.key")
    subprocess.run([tool, "keygen", bob_key], check=True,
                   capture_output=True)
    bob_fp = subprocess.run([tool, "fingerprint", bob_key], check=True,
                            capture_output=True, text=True
                            ).stdout.split()[-1]
    results = {}
    for topo in a.topologies.split(","):
        label = {"home": "home↔home (20 ms one way)",
                 "samelan": "same LAN (relay 20 ms away)"}[topo]
        res = {"wzp": {"cold": [], "warm": [], "raw": []},
               "webrtc": {"cold": [], "warm": []}, "errors": []}
        with NatLab(topo, topo, delay_ms=20) as lab:
            relay = lab.popen("relay", [
                relay_bin, "--listen", RELAY + ":4433", "--probe-listen",
                lab.relay_addr2 + ":4434", "-i",
                os.path.join(work, "relay.key")],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            relay.stdout.readline()
            servers = lab.popen("relay", [
                PY, os.path.join(HERE, "webrtc_servers.py"),
                "--stun", RELAY + ":3478", "--signal", RELAY + ":8443"],
                stdout=subprocess.PIPE, text=True)
            servers.stdout.readline()
            try:
                for i in range(runs):
                    w = wzp_run(lab, tool, bob_key, bob_fp, work)
                    if "error" in w:
                        res["errors"].append(w["error"])
                    else:
                        res["wzp"]["cold"].append(w["cold"])
                        res["wzp"]["warm"].append(w["warm"])
                        res["wzp"]["raw"].append(w)
                    for mode in ("cold", "warm"):
                        r = webrtc_run(lab, mode, topo == "samelan")
                        if "error" in r:
                            res["errors"].append(r["error"])
                        else:
                            res["webrtc"][mode].append(r)
                    print("%s run %d/%d: wzp cold both %s ms, webrtc cold "
                          "both %s ms, warm %s / %s" % (
                              topo, i + 1, runs,
                              fmt(w.get("cold", {}).get("both_first_audio")),
                              fmt(res["webrtc"]["cold"][-1]
                                  ["both_first_audio"]
                                  if res["webrtc"]["cold"] else None),
                              fmt(w.get("warm", {}).get("both_first_audio")),
                              fmt(res["webrtc"]["warm"][-1]
                                  ["both_first_audio"]
                                  if res["webrtc"]["warm"] else None)),
                          file=sys.stderr, flush=True)
            finally:
                servers.terminate()
                relay.terminate()
                servers.wait()
                relay.wait()
        results[label] = res
    md = summarize(results)
    print(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
