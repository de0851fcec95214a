#!/usr/bin/python3
"""The summary of docs/BENCHMARKS.md: each target, the value this run
measured, met or not met.

  summary.py DOC RESULTS_DIR COMMAND SECONDS LOAD_BEFORE LOAD_AFTER

RESULTS_DIR holds the --json output of each benchmark of the run, named
after its section (per-call-cpu-and-memory.json, ...), and times.txt
(section TAB seconds) from run-all.sh; the NAT-lab figures
come from that section's table in DOC, which bench-nat-setup.py wrote in the
same run.  A benchmark that failed makes its rows "not measured".
"""
import json
import os
import statistics
import sys

import update_doc

TITLE = "Summary against the targets"
MET, NOT_MET = "**met**", "**not met**"


def load(results, name):
    try:
        with open(os.path.join(results, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def missing(bench):
    return ("not measured: %s failed in this run" % bench, "not measured")


def setup_vs_webrtc(r):
    if not r:
        return [("call setup ≥ 3× faster than webrtcbin (both ends hear "
                 "each other)",) + missing("bench-setup-vs-webrtc.py")]
    parts, worst = [], None
    for topo, res in r.items():
        for mode in ("cold", "warm"):
            w = [x["both_first_audio"] for x in res["wzp"][mode]
                 if x.get("both_first_audio") is not None]
            b = [x["both_first_audio"] for x in res["webrtc"][mode]
                 if x.get("both_first_audio") is not None]
            if not w or not b:
                parts.append("%s %s: no complete run" % (topo, mode))
                worst = 0.0
                continue
            ratio = statistics.median(b) / statistics.median(w)
            worst = ratio if worst is None else min(worst, ratio)
            parts.append("%s %s %.1f× (%.0f vs %.0f ms)" % (
                topo.split(" (")[0], mode, ratio, statistics.median(w),
                statistics.median(b)))
    return [("call setup ≥ 3× faster than webrtcbin (both ends hear each "
             "other; median of the runs)", "; ".join(parts),
             MET if worst is not None and worst >= 3 else NOT_MET)]


def same_lan_every_run(r):
    """Issue 14: the same LAN ≥ 3× in every run, not only the median."""
    what = "same LAN: call setup ≥ 3× faster than webrtcbin in every run"
    if not r:
        return [(what,) + missing("bench-setup-vs-webrtc.py")]
    parts, worst = [], None
    for topo, res in r.items():
        if not topo.startswith("same LAN"):
            continue
        for mode in ("cold", "warm"):
            per = [y["both_first_audio"] / x["both_first_audio"]
                   for x, y in zip(res["wzp"][mode], res["webrtc"][mode])
                   if x.get("both_first_audio") and
                   y.get("both_first_audio")]
            if not per or len(per) < len(res["wzp"][mode]):
                parts.append("%s: a run without a result" % mode)
                worst = 0.0
                continue
            worst = min(per) if worst is None else min(worst, min(per))
            parts.append("%s worst %.2f× of %d runs (run i of wzp against "
                         "run i of webrtcbin)" % (mode, min(per), len(per)))
    if not parts:
        return [(what,) + missing("bench-setup-vs-webrtc.py")]
    return [(what, "; ".join(parts),
             MET if worst is not None and worst >= 3 else NOT_MET)]


def failover(r):
    """Issue 14: failover gap, no false failover, network changes."""
    what_cut = "failover gap ≤ 300 ms when the direct path is cut"
    what_loss = ("no failover under 10 % loss on the direct path and "
                 "±20 ms jitter")
    what_move = ("network change mid-call (address move, NAT rebinding): "
                 "audio gap ≤ 1 s, back on a direct path")
    if not r:
        return [(w,) + missing("bench-failover.py")
                for w in (what_cut, what_loss, what_move)]
    out = []
    cuts = [e for e in r["events"] if e["event"].startswith("cut")]
    gaps = [e[s]["gap_ms"] for e in cuts for s in ("a", "b")]
    relay = [e[s]["relay_ms"] for e in cuts for s in ("a", "b")
             if e[s]["relay_ms"] is not None]
    if gaps:
        out.append((what_cut, "largest gap %.0f ms over %d cuts (both ends); "
                    "on the relay %.0f–%.0f ms after the cut" % (
                        max(gaps), len(cuts), min(relay or [0]),
                        max(relay or [0])),
                    MET if max(gaps) <= 300 else NOT_MET))
    else:
        out.append((what_cut,) + missing("bench-failover.py"))
    lo = r.get("lossy")
    if lo:
        fo = lo["a"]["failovers"] + lo["b"]["failovers"]
        ok = lo["a"]["direct"] and lo["b"]["direct"] and fo == 0
        out.append((what_loss, "%d failovers in %d s of call (both ends); "
                    "largest gap %d ms" % (
                        fo, lo["seconds"], max(lo["a"]["max_gap_ms"],
                                               lo["b"]["max_gap_ms"])),
                    MET if ok else NOT_MET))
    else:
        out.append((what_loss,) + missing("bench-failover.py"))
    moves = [e for e in r["events"] if not e["event"].startswith("cut")]
    if moves:
        gap = max(e[s]["gap_ms"] for e in moves for s in ("a", "b"))
        back = all(e[s]["relay_ms"] is None or e[s]["direct_ms"] is not None
                   for e in moves for s in ("a", "b"))
        out.append((what_move, "largest gap %.0f ms over %d changes; %s" % (
            gap, len(moves), "direct again after every one" if back else
            "not always direct again"),
            MET if gap <= 1000 and back else NOT_MET))
    else:
        out.append((what_move,) + missing("bench-failover.py"))
    return out


def nat_setup(doc_text):
    """RTTs from the 'Call setup on the NAT lab' table (home↔home)."""
    m = update_doc.section_re("Call setup on the NAT lab").search(doc_text)
    rows = {}
    for line in (m.group(0) if m else "").splitlines():
        c = [x.strip() for x in line.strip().strip("|").split("|")]
        if len(c) == 5 and c[0] == "home↔home":
            try:
                rows.setdefault(c[1], []).append(float(c[4]))
            except ValueError:
                pass
    audio = [v for k, v in rows.items() if k.startswith(
        "answer → first audio")]
    direct = [v for k, v in rows.items() if k.startswith(
        "answer → path direct")]
    what = ("first audio within 2 RTT of the answer, direct path within ~3 "
            "RTT more (home↔home, 20 ms one way)")
    if not audio or not direct:
        return [(what,) + missing("bench-nat-setup.py")]
    a, d = max(audio[0]), max(direct[0])
    return [(what, "first audio %.1f RTT, direct path agreed %.1f RTT "
             "(the later end, median)" % (a, d),
             MET if a <= 2.0 and d - a <= 3.0 else NOT_MET)]


def call_cpu(r):
    what_rtp = "per-call CPU ≤ 1.5× plain RTP/UDP (both parties)"
    what_web = "per-call CPU below webrtcbin's"
    ok = (lambda n: r and n in r and "cpu_s_per_min" in r[n]
          and not r[n].get("invalid"))
    if not r or not all(ok(n) for n in ("rtp", "webrtc", "gst-wzp-relay",
                                        "gst-wzp-direct")):
        return [(what_rtp,) + missing("bench-call-cpu.py"),
                (what_web,) + missing("bench-call-cpu.py")]
    cpu = {n: r[n]["cpu_s_per_min"] for n in r if ok(n)}
    relay = cpu["gst-wzp-relay"]
    cases = [("relay path", relay),
             ("relay path + the relay process",
              relay + r["gst-wzp-relay"]["other_cpu_s_per_min"]),
             ("direct path", cpu["gst-wzp-direct"])]
    out = []
    for peer, what, limit, cmp_ in (
            ("rtp", what_rtp, 1.5, lambda x: x <= 1.5),
            ("webrtc", what_web, 1.0, lambda x: x < 1.0)):
        ratios = [(n, v / cpu[peer]) for n, v in cases]
        text = ", ".join("%s %.2f×" % (n, x) for n, x in ratios)
        text += " (%s %.2f s per call-minute)" % (
            "RTP/UDP" if peer == "rtp" else "webrtcbin", cpu[peer])
        if peer == "rtp" and "srt" in cpu:
            text += "; for comparison srt is %.2f× RTP/UDP" % (
                cpu["srt"] / cpu["rtp"])
        busy = max(r[n].get("machine_busy_elsewhere", 0) for n in cpu)
        if busy > 0.1:
            text += " (other work kept up to %.0f %% of the machine busy " \
                "during these rows: noisy)" % (100 * busy)
        out.append((what, text, MET if all(cmp_(x) for _, x in ratios)
                    else NOT_MET))
    return out


def relay(r):
    """Issue 9's targets for the relay's media plane (bench-relay.py)."""
    what_floor = ("relay CPU per forwarded packet ≤ 1.5× the bare UDP "
                  "forwarder's (≥ 67 % of the floor's rate per core)")
    what_coturn = "relay CPU per forwarded hop ≤ coturn's"
    what_calls = ("≥ 2,000 relayed calls per relay core at < 0.5 % loss "
                  "and p99 < 5 ms")
    what_mem = "≤ 100 KiB of relay memory per relayed call"
    what_workers = "`--workers 2` forwards ≥ 1.6× what `--workers 1` does"
    whats = (what_floor, what_coturn, what_calls, what_mem, what_workers)
    if not r or not r.get("modes", {}).get("wzp"):
        return [(w,) + missing("bench-relay.py") for w in whats]
    modes = r["modes"]
    w, u, c = modes["wzp"], modes.get("udp", {}), modes.get("coturn", {})
    cg = r.get("callgrind") or {}
    out = []

    def cg_text(mode, per="packet"):
        x = cg.get(mode)
        if not x or "error" in x:
            return ""
        return "; callgrind %.0f instructions per %s" % (
            x["ir_per_hop"] if per == "hop" else x["ir_per_packet"], per)

    if w.get("us_per_packet") and u.get("us_per_packet"):
        ratio = w["us_per_packet"] / u["us_per_packet"]
        out.append((what_floor, "%.2f× (%.2f vs %.2f µs at %s/%s calls%s "
                    "vs%s)" % (ratio, w["us_per_packet"], u["us_per_packet"],
                               w["us_per_packet_calls"],
                               u["us_per_packet_calls"], cg_text("wzp"),
                               cg_text("udp") or " -"),
                    MET if ratio <= 1.5 else NOT_MET))
    else:
        out.append((what_floor, "no lossless step with the generator below "
                    "90 % in both modes", NOT_MET))
    if w.get("us_per_packet") and c.get("us_per_hop"):
        ratio = w["us_per_packet"] / c["us_per_hop"]
        out.append((what_coturn, "%.2f× (%.2f µs per packet vs coturn %.2f "
                    "per hop, %.2f per packet: client-to-client TURN "
                    "crosses it twice%s%s)" % (
                        ratio, w["us_per_packet"], c["us_per_hop"],
                        c["us_per_packet"], cg_text("wzp"),
                        cg_text("coturn", "hop").replace(";", "; coturn")),
                    MET if ratio <= 1.0 else NOT_MET))
    else:
        out.append((what_coturn,) + missing("bench-relay.py (coturn)"))
    rows = [x for x in w["rows"] if "error" not in x]
    ok_rows = [x for x in rows if x["loss"] < 0.5 and x["p99"] < 5.0]
    best = max(ok_rows, key=lambda x: x["calls"]) if ok_rows else None
    per_core = w.get("calls_per_core")
    if best and best["calls"] >= 2000 and best["relay_cpu"] <= 100:
        text = ("%d calls measured (loss %.2f %%, p99 %.1f ms) on %.0f %% of "
                "one relay core" % (best["calls"], best["loss"], best["p99"],
                                    best["relay_cpu"]))
        met = True
    else:
        text = ("most calls passing: %s; extrapolated from the CPU per "
                "packet at the highest clean step: ~%s calls per core" % (
                    best["calls"] if best else "none",
                    "%.0f" % per_core if per_core else "?"))
        met = bool(per_core and per_core >= 2000)
    out.append((what_calls, text, MET if met else NOT_MET))
    kib = w.get("kib_per_call")
    out.append((what_mem, "%.0f KiB per call at %s calls (RSS growth / calls)"
                % (kib, w.get("kib_per_call_calls")) if kib is not None else
                "not measured", MET if kib is not None and kib <= 100
                else NOT_MET))
    wk = r.get("workers") or {}
    if wk.get("scaling"):
        out.append((what_workers, "%.2f× from CPU per packet (%.2f µs with 1 "
                    "worker, %.2f with 2, at %d calls): two workers on two "
                    "cores each forward at the per-packet cost measured; "
                    "this 2-core machine cannot saturate both while the "
                    "generator runs" % (
                        wk["scaling"], wk["1"]["us_per_packet"],
                        wk["2"]["us_per_packet"], wk["calls"]),
                    MET if wk["scaling"] >= 1.6 else NOT_MET))
    else:
        out.append((what_workers,) + missing("bench-relay.py (workers)"))
    return out


def loss(r):
    what = ("5/10/20 % loss: every lost frame concealed, the tone kept as "
            "well as RTP/UDP + rtpjitterbuffer")
    if not r or any("error" in x for x in r):
        return [(what,) + missing("bench-loss.py")]
    rtp = {x["loss"]: x for x in r if x["system"] == "rtp"}
    lost = conc = 0
    worst = None
    for x in r:
        if x["system"] == "rtp" or x["loss"] == 0 or x["loss"] not in rtp:
            continue
        lost += x["lost"]
        conc += x["concealed"]
        base = rtp[x["loss"]]["tone_ok"]
        ratio = x["tone_ok"] / base if base else 1.0
        worst = ratio if worst is None else min(worst, ratio)
    at20 = {x["system"]: x["tone_ok"] for x in r if x["loss"] == 20}
    text = "%d of %d lost frames concealed; worst tone share vs RTP %.2f" % (
        conc, lost, worst if worst is not None else 0)
    if at20:
        text += "; right tone at 20 %%: %s" % ", ".join(
            "%s %.1f %%" % (s.replace("wzp-", "wzp "), 100 * v)
            for s, v in sorted(at20.items()))
    return [(what, text, MET if conc == lost and worst is not None
             and worst >= 0.95 else NOT_MET)]


def setup_loss(r):
    what = ("registration and call setup under 0–20 % loss: no run fails "
            "(signaling byte-exact under retransmission)")
    if not r:
        return [(what,) + missing("bench-setup-loss.py")]
    failed = sum(x["failed"] for x in r)
    runs = sum(x["runs"] for x in r)

    def p90(values):        # interpolated, as bench-setup-loss.py prints
        v = sorted(values)
        if not v:
            return float("nan")
        k = (len(v) - 1) * 0.9
        lo = int(k)
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (k - lo)
    worst = max(r, key=lambda x: x["loss"])
    return [(what, "%d of %d runs failed; at %d %% loss registration p90 "
             "%.0f ms, call setup p90 %.0f ms" % (
                 failed, runs, worst["loss"],
                 p90(worst["registration_ms"]), p90(worst["setup_ms"])),
             MET if failed == 0 else NOT_MET)]


def relay_flood(r):
    what = ("one hostile client cannot take the relay down: during a "
            "half-open handshake flood a real client registers within 2 s "
            "and relay RSS stays < 150 MB; no slower call setup without an "
            "attack (issue 10)")
    if not r:
        return [(what,) + missing("bench-relay-flood.py")]
    floods = [f for f in r["floods"] if f["label"].startswith("defaults")]
    setups = {s["retry"]: s for s in r["setups"]}
    lat = [x for f in floods for x in f["registration_ms"]]
    failed = sum(f["registration_failed"] or 0 for f in floods)
    rss = max(f["rss_peak_mb"] for f in floods)
    reg_never = statistics.median(setups["never"]["registration_ms"])
    reg_auto = statistics.median(setups["auto"]["registration_ms"])
    ok = (floods and lat and not failed and max(lat) < 2000 and rss < 150
          and reg_auto <= reg_never + 1)
    return [(what, "up to %.0f Initials/s: registration max %.0f ms, %d "
             "failed, RSS peak %.0f MB, %.2f× sent back; registration "
             "median %.1f ms without Retry, %.1f ms with retry=auto" % (
                 max(f["rate"] for f in floods), max(lat) if lat else -1,
                 failed, rss, max(f["reflection"] for f in floods),
                 reg_never, reg_auto), MET if ok else NOT_MET)]


def main(argv):
    doc, results, command, seconds, load0, load1 = argv
    text = update_doc.read(doc)
    rows = (setup_vs_webrtc(load(results, "call-setup-vs-webrtcbin"))
            + same_lan_every_run(load(results, "call-setup-vs-webrtcbin"))
            + nat_setup(text)
            + failover(load(results, "failover-and-network-changes"))
            + call_cpu(load(results, "per-call-cpu-and-memory"))
            + relay(load(results, "relay-capacity"))
            + loss(load(results, "loss"))
            + setup_loss(load(results,
                              "registration-and-call-setup-under-loss"))
            + relay_flood(load(results, "relay-under-a-handshake-flood")))
    times = []
    try:
        with open(os.path.join(results, "times.txt")) as f:
            times = [line.rstrip("\n").split("\t") for line in f]
    except OSError:
        pass
    secs = int(float(seconds))
    lines = ["Every value below comes from the sections that follow, "
             "all measured in this one run: %d min %02d s wall time%s.  "
             "Load average (1, 5, 15 min) before the run %s (other work: "
             "near 0 on a quiet machine), at its end %s (with the "
             "benchmarks' own processes).  CPU figures are only as good as "
             "the machine was quiet; the per-call CPU table says how busy "
             "the rest of the machine was during each row." % (
                 secs // 60, secs % 60,
                 " (%s)" % ", ".join("%s %s s" % (t[0], t[1]) for t in times
                                     if len(t) == 2) if times else "",
                 load0, load1), "",
             "| target | measured | |", "|---|---|---|"]
    for what, value, verdict in rows:
        lines.append("| %s | %s | %s |" % (what, value, verdict))
    update_doc.write_section(doc, TITLE, "\n".join(lines), command,
                             first=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
