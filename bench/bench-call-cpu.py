#!/usr/bin/python3
"""Per-call CPU and memory of a two-way Opus call, wzp vs its peers.

  bench/bench-call-cpu.py [--quick] [--duration S] [--build DIR]
                          [--profile] [--markdown FILE] [--json FILE]

All on loopback, one system at a time, in one run.  Every party sends
`audiotestsrc is-live=true wave=sine ! opusenc bitrate=32000 frame-size=20`
and decodes what it receives with `opusdec ! fakesink sync=true`:

  rtp      the floor: rtpopuspay ! udpsink / udpsrc ! rtpjitterbuffer
           latency=60 ! rtpopusdepay ! opusdec (two gst-launch processes)
  srt      rtpopuspay ! srtsink / srtsrc ! rtpopusdepay ! opusdec, as srt
           users connect: A is the listener (srt://:P, srt://:P+2), B the
           caller of both; one SRT connection per direction (srtsrc and
           srtsink do not share a socket), AES-128 (passphrase), latency
           60 ms: the receive buffer the RTP and webrtcbin rows get too,
           inside a voice call's mouth-to-ear budget.  srtsink needs
           async=false (as udpsink): see sys_srt().
  webrtc   webrtcbin (bench/webrtc_peer.py, two processes, host candidates
           only, jitter buffer 60 ms, DTLS-SRTP)
  codec    the codec alone: audiotestsrc ! opusenc ! opusdec ! fakesink
           sync=true, two processes (what every system above pays)
  gst-wzp  the real thing: two gst-launch-1.0 processes, each
           `... opusenc ! wzpsink session=X relay=... identity=...
           [peer=FP | answer=auto]  wzpsrc session=X ... ! opusdec !
           fakesink sync=true`, through a local wzp-relay: relay path
           (path-policy=relay-only) and direct path (auto; the row is only
           valid if both parties report path=direct).  The relay process
           is reported separately.
  wzp      transport only: `wzp call` parties (QUIC, E2E
           ChaCha20-Poly1305, 50 frames/s of 80 bytes: a 32 kb/s Opus
           stream's size), no codec; "+ codec" adds the measured codec row.

CPU = utime + stime from /proc/PID/stat over the measured window (after a
2 s warm-up), scaled to seconds per call-minute, both parties summed;
RSS = peak (VmHWM) per process, the larger party shown.

A row only counts when audio really flowed both ways: every gst-launch
party decodes into `level interval=1 s` and must report at least
(window - 1) seconds of audio at the sent tone's level (-9 dBFS; counted
above -30 dBFS); webrtcbin and `wzp call` parties must count at least
50 frames/s over (window - 1) s.  Otherwise the row says INVALID and the
benchmark exits with status 1.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import prereqs

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PY = "/usr/bin/python3"
HZ = os.sysconf("SC_CLK_TCK")
ENC = ("audiotestsrc is-live=true wave=sine freq={f} volume=0.5 ! "
       "audio/x-raw,rate=48000,channels=1 ! "
       "opusenc bitrate=32000 frame-size=20")
# level: one message a second with the decoded audio's RMS, so each row
# proves that audio reached both ends (its cost is in every row alike).
DEC = "opusdec ! level interval=1000000000 ! fakesink sync=true"
AUDIBLE_DB = -30.0
SRT_OPTS = "latency=60 passphrase=wzp-bench-passphrase pbkeylen=16"
RTPCAPS = ("application/x-rtp,media=audio,encoding-name=OPUS,payload=96,"
           "clock-rate=48000")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def machine_busy_s():
    """CPU seconds the whole machine spent busy (all cores), /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / HZ      # minus idle and iowait


def hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def launch(argv, env=None):
    return subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)


def gst_party(work, name, desc, env=None):
    """A gst-launch-1.0 party; -m puts its bus messages (level, and for
    wzp wzp-path-changed) into WORK/NAME.out."""
    path = os.path.join(work, name + ".out")
    with open(path, "w") as out:
        p = subprocess.Popen(["gst-launch-1.0", "-m"] + desc.split(),
                             stdout=out, stderr=subprocess.PIPE, text=True,
                             env=env, start_new_session=True)
    p.out_path = path
    return p


def heard_s(p):
    """Seconds of decoded audio at an audible level that a gst-launch
    party's level element reported (one message per second)."""
    n = 0
    try:
        with open(p.out_path, errors="replace") as f:
            for line in f:
                if "rms=(GValueArray)<" not in line:
                    continue
                vals = line.split("rms=(GValueArray)<", 1)[1].split(">")[0]
                try:
                    if max(float(v) for v in vals.split(",")) > AUDIBLE_DB:
                        n += 1
                except ValueError:
                    pass
    except OSError:
        pass
    return n


def report_of(p):
    """The JSON report a wzp call or webrtc_peer.py party printed last."""
    try:
        out = p.stdout.read()
    except (OSError, ValueError):
        return {}
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return {}
    return {}


def heard(p):
    """(unit, amount) of audio this party received, after it stopped."""
    if hasattr(p, "out_path"):
        return "s", heard_s(p)
    r = report_of(p)
    if "frames_received" in r:          # wzp call
        return "s", r["frames_received"] / 50.0
    if "decoded" in r:                  # webrtc_peer.py: opusdec buffers
        return "s", r["decoded"] / 50.0
    return "s", 0.0


def measure(parties, others, duration, warmup=2.0, profile=None):
    """parties/others: lists of Popen.  Returns per-process stats."""
    time.sleep(warmup)
    for p in parties + others:
        if p.poll() is not None:
            raise RuntimeError("process exited early: %s\n%s" % (
                p.args, p.stderr.read()[-2000:]))
    c0 = {p.pid: cpu_s(p.pid) for p in parties + others}
    busy0 = machine_busy_s()
    t0 = time.monotonic()
    prof = None
    if profile:
        prof = subprocess.Popen(["perf", "record", "-g", "-o", profile[1],
                                 "-p", str(profile[0].pid), "--", "sleep",
                                 str(min(duration, 10))],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    time.sleep(duration)
    dt = time.monotonic() - t0
    busy = machine_busy_s() - busy0
    res = []
    for p in parties + others:
        if p.poll() is not None:
            raise RuntimeError("process exited during the run: %s\n%s" % (
                p.args, p.stderr.read()[-2000:]))
        res.append({"pid": p.pid, "cpu_s": cpu_s(p.pid) - c0[p.pid],
                    "rss_kb": hwm_kb(p.pid), "party": p in parties})
    if prof:
        prof.wait()
    for p in parties + others:
        stop(p)
    # What the rest of the machine did meanwhile (other work, this script):
    # the noise in this row's CPU figure.
    mine = sum(r["cpu_s"] for r in res)
    return dt, res, max(0.0, busy - mine) / (dt * os.cpu_count())


def stop(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGINT)
            p.wait(3)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def sys_rtp(port, work):
    a = gst_party(work, "rtp-a",
        ENC.format(f=440) + " ! rtpopuspay pt=96 ! udpsink host=127.0.0.1 "
        "port=%d sync=false async=false udpsrc port=%d caps=%s ! "
        "rtpjitterbuffer latency=60 ! rtpopusdepay ! %s"
        % (port, port + 2, RTPCAPS, DEC))
    b = gst_party(work, "rtp-b",
        ENC.format(f=660) + " ! rtpopuspay pt=96 ! udpsink host=127.0.0.1 "
        "port=%d sync=false async=false udpsrc port=%d caps=%s ! "
        "rtpjitterbuffer latency=60 ! rtpopusdepay ! %s"
        % (port + 2, port, RTPCAPS, DEC))
    return [a, b], []


def sys_srt(port, work):
    """A listens (srt://:P carries A's audio, srt://:P+2 B's), B calls
    both once A is up.  srtsink must be async=false, as udpsink is in the
    RTP row: with a live source the pipeline only reaches PLAYING once
    every async sink has prerolled, and the receive branch's sink can
    preroll only when the far end's audio arrives; an async srtsink holds
    its own first buffer in preroll until then, so each side waits for the
    other and no audio flows either way (this row's earlier INVALID)."""
    a = gst_party(work, "srt-a",
        ENC.format(f=440) + " ! rtpopuspay pt=96 ! srtsink "
        "uri=srt://:%d?mode=listener %s sync=false async=false "
        "srtsrc uri=srt://:%d?mode=listener %s ! %s ! "
        "rtpopusdepay ! %s" % (port, SRT_OPTS, port + 2, SRT_OPTS,
                               RTPCAPS, DEC))
    time.sleep(0.5)
    b = gst_party(work, "srt-b",
        ENC.format(f=660) + " ! rtpopuspay pt=96 ! srtsink "
        "uri=srt://127.0.0.1:%d?mode=caller %s sync=false async=false "
        "srtsrc uri=srt://127.0.0.1:%d?mode=caller %s ! %s ! "
        "rtpopusdepay ! %s" % (port + 2, SRT_OPTS, port, SRT_OPTS,
                               RTPCAPS, DEC))
    return [a, b], []


def sys_codec(work):
    return [gst_party(work, "codec-%d" % f, ENC.format(f=f) + " ! " + DEC)
            for f in (440, 660)], []


def sys_webrtc(port, duration):
    servers = launch([PY, os.path.join(HERE, "webrtc_servers.py"),
                      "--stun", "127.0.0.1:%d" % (port + 4),
                      "--signal", "127.0.0.1:%d" % port])
    servers.stdout.readline()
    peer = os.path.join(HERE, "webrtc_peer.py")
    common = ["--signal", "127.0.0.1:%d" % port, "--latency", "60",
              "--duration", str(duration + 10), "--timeout",
              str(duration + 20)]
    b = launch([PY, peer, "--role", "callee", "--freq", "660"] + common)
    b.stderr.readline()
    a = launch([PY, peer, "--role", "caller", "--mode", "warm"] + common)
    time.sleep(2.0)     # negotiation, ICE, DTLS: not part of the call
    return [a, b], [servers]


def sys_wzp(port, duration, tool, relay_bin, work, policy):
    relay = launch([relay_bin, "--listen", "127.0.0.1:%d" % port,
                    "--probe-listen", "127.0.0.1:%d" % (port + 1), "-i",
                    os.path.join(work, "relay.key")])
    relay.stdout.readline()
    key = os.path.join(work, "bob.key")
    if not os.path.exists(key):
        subprocess.run([tool, "keygen", key], check=True,
                       capture_output=True)
    fp = subprocess.run([tool, "fingerprint", key], check=True,
                        capture_output=True, text=True).stdout.split()[-1]
    d = str(int(duration) + 15)
    r = "127.0.0.1:%d" % port
    b = launch([tool, "call", "-r", r, "-i", key, "-d", d,
                "--path-policy", policy])
    for line in b.stderr:
        if "waiting" in line:
            break
    a = launch([tool, "call", "-r", r, "-p", fp, "-d", d,
                "--path-policy", policy])
    return [a, b], [relay]


def sys_gst_wzp(port, tool, relay_bin, work, build, policy):
    """Two gst-launch-1.0 processes with wzpsink/wzpsrc through a local
    wzp-relay.  -m (not -q) so that wzp-path-changed messages land in
    WORK/<name>.out and the path can be checked afterwards."""
    relay = launch([relay_bin, "--listen", "127.0.0.1:%d" % port,
                    "--probe-listen", "127.0.0.1:%d" % (port + 1), "-i",
                    os.path.join(work, "relay.key")])
    time.sleep(0.5)
    keys = {}
    for who in ("a", "b"):
        keys[who] = os.path.join(work, "gst-%s.key" % who)
        if not os.path.exists(keys[who]):
            subprocess.run([tool, "keygen", keys[who]], check=True,
                           capture_output=True)
    fp = subprocess.run([tool, "fingerprint", keys["b"]], check=True,
                        capture_output=True, text=True).stdout.split()[-1]
    env = dict(os.environ)
    env["GST_PLUGIN_PATH"] = os.path.join(build, "gst") + (
        ":" + env["GST_PLUGIN_PATH"] if env.get("GST_PLUGIN_PATH") else "")
    tag = "relay" if policy == "relay-only" else "direct"
    procs = []
    for who, freq, call in (("b", 660, "answer=auto"),
                            ("a", 440, "peer=" + fp)):
        common = ("session=%s relay=127.0.0.1:%d identity=%s %s"
                  % (who, port, keys[who], call))
        if policy != "auto":
            common += " path-policy=" + policy
        desc = (ENC.format(f=freq) + " ! wzpsink " + common + "  wzpsrc "
                + common + " ! " + DEC)
        procs.append(gst_party(work, "gst-%s-%s" % (tag, who), desc, env))
        if who == "b":
            time.sleep(1.0)     # B registered and waiting before A calls
    return procs, [relay]


def gst_paths(work, tag):
    """Last wzp-path-changed path each party reported (a, b) before it
    was stopped (at hang-up the direct connection closes and the call
    falls back to the relay: not part of the measured window)."""
    paths = []
    for who in ("a", "b"):
        last = "none"
        try:
            with open(os.path.join(work, "gst-%s-%s.out" % (tag, who))) as f:
                for line in f:
                    if ("handling interrupt" in line
                            or "peer\\ closed" in line):
                        break   # our hang-up, or the other party's
                    if "wzp-path-changed" in line:
                        last = line.split("path=(string)")[1].split(",")[0]
        except (OSError, IndexError):
            pass
        paths.append(last)
    return paths


def run_system(name, starter, duration, profile_dir):
    parties, others = starter()
    prof = None
    if profile_dir:
        prof = (parties[0], os.path.join(profile_dir, name + ".perf.data"))
    try:
        dt, res, elsewhere = measure(parties, others, duration,
                                     profile=prof)
    finally:
        for p in parties + others:
            stop(p)
    per_min = 60.0 / dt
    party = [r for r in res if r["party"]]
    other = [r for r in res if not r["party"]]
    out = {
        "cpu_s_per_min": sum(r["cpu_s"] for r in party) * per_min,
        "rss_mb": max(r["rss_kb"] for r in party) / 1024.0,
        "other_cpu_s_per_min": sum(r["cpu_s"] for r in other) * per_min,
        "other_rss_mb": max([r["rss_kb"] for r in other] or [0]) / 1024.0,
        "window_s": dt,
        "machine_busy_elsewhere": elsewhere,
        # seconds of audio each party (A, B) decoded / received
        "heard_s": [heard(p)[1] for p in parties],
    }
    if min(out["heard_s"]) < duration - 1:
        out["audio_error"] = (
            "audio did not flow both ways: A heard %.0f s, B %.0f s of a "
            "%.0f s window" % (out["heard_s"][0], out["heard_s"][-1],
                               duration))
    if prof:
        out["perf_data"] = prof[1]
    return out


def perf_top(path, n=12):
    try:
        txt = subprocess.run(
            ["perf", "report", "-i", path, "--no-children", "--stdio",
             "--percent-limit", "1.5", "-g", "none", "--sort",
             "dso,symbol"], capture_output=True, text=True, timeout=120
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = [l.rstrip() for l in txt.splitlines()
            if l.strip() and not l.startswith("#")]
    return rows[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 s per system")
    ap.add_argument("--duration", type=float)
    ap.add_argument("--build", default=os.environ.get(
        "WZP_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--profile", action="store_true",
                    help="perf record one party of each system")
    ap.add_argument("--systems",
                    default="rtp,codec,srt,webrtc,gst-wzp-relay,"
                    "gst-wzp-direct,wzp-relay,wzp-direct")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    a = ap.parse_args()
    prereqs.require("bench-call-cpu", a.build, a.profile)
    dur = a.duration or (10.0 if a.quick else 30.0)
    tool = os.path.join(a.build, "tools", "wzp")
    relay_bin = os.path.join(a.build, "tools", "wzp-relay")
    work = tempfile.mkdtemp(prefix="wzp-bench-cpu-")
    profile_dir = work if a.profile and shutil.which("perf") else None
    starters = {
        "rtp": lambda: sys_rtp(25000, work),
        "codec": lambda: sys_codec(work),
        "srt": lambda: sys_srt(25100, work),
        "webrtc": lambda: sys_webrtc(25200, dur),
        "gst-wzp-relay": lambda: sys_gst_wzp(25500, tool, relay_bin, work,
                                             a.build, "relay-only"),
        "gst-wzp-direct": lambda: sys_gst_wzp(25600, tool, relay_bin, work,
                                              a.build, "auto"),
        "wzp-relay": lambda: sys_wzp(25300, dur, tool, relay_bin, work,
                                     "relay-only"),
        "wzp-direct": lambda: sys_wzp(25400, dur, tool, relay_bin, work,
                                      "auto"),
    }
    res = {}
    for name in a.systems.split(","):
        try:
            res[name] = run_system(name, starters[name], dur, profile_dir)
        except RuntimeError as e:
            res[name] = {"error": str(e)[:600]}
        if name.startswith("gst-wzp-") and "error" not in res[name]:
            tag = name[len("gst-wzp-"):]
            res[name]["paths"] = gst_paths(work, tag)
            if res[name]["paths"] != [tag, tag]:
                res[name]["path_error"] = (
                    "parties ended on paths %s, not %s" % (
                        "/".join(res[name]["paths"]), tag))
        print("%s: %s" % (name, json.dumps(res[name])), file=sys.stderr,
              flush=True)
    md = summarize(res, dur)
    if profile_dir:
        md += "\n\nProfiles (`perf report --no-children`, one party, top " \
              "symbols ≥ 1.5 %):\n"
        for name, r in res.items():
            if r.get("perf_data"):
                md += "\n%s:\n```\n%s\n```\n" % (
                    name, "\n".join(perf_top(r["perf_data"])))
    print(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    bad = [n for n, r in res.items() if "error" in r or r.get("invalid")]
    if bad:
        print("bench-call-cpu: no valid result for %s (the parties' bus "
              "messages are in %s)" % (", ".join(bad), work),
              file=sys.stderr)
        return 1
    if not profile_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def summarize(res, dur):
    def g(name, key):
        return res.get(name, {}).get(key)

    def ok(name):
        r = res.get(name, {})
        return ("cpu_s_per_min" in r and not r.get("invalid"))

    codec = g("codec", "cpu_s_per_min")
    rows = []
    rows.append("| system | CPU s / call-min (both parties) | peak RSS MB "
                "(one party) | server CPU s / min | server RSS MB | rest of "
                "the machine busy |")
    rows.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    label = {"rtp": "RTP/UDP floor (rtpjitterbuffer)", "codec":
             "codec only (opusenc + opusdec)", "srt":
             "srtsink/srtsrc (listener/caller, AES-128, latency 60 ms)",
             "webrtc": "webrtcbin (signaling server as server)",
             "gst-wzp-relay": "**wzpsink/wzpsrc, relay path** "
             "(wzp-relay as server)",
             "gst-wzp-direct": "**wzpsink/wzpsrc, direct path**",
             "wzp-relay": "wzp call, relay path, transport only "
             "(wzp-relay as server)",
             "wzp-direct": "wzp call, direct path, transport only"}
    for name in res:
        r = res[name]
        lab = label.get(name, name)
        if "error" in r:
            rows.append("| %s | failed: %s | | | | |" % (
                lab, r["error"][:120].replace("\n", " ")))
            continue
        why = r.get("audio_error") or r.get("path_error")
        if why:
            r["invalid"] = True
            rows.append("| %s | %.2f (INVALID: %s) | %.1f | | | |" % (
                lab, r["cpu_s_per_min"], why, r["rss_mb"]))
            continue
        rows.append("| %s | %.2f | %.1f | %s | %s | %.0f %% |" % (
            lab, r["cpu_s_per_min"], r["rss_mb"],
            "%.2f" % r["other_cpu_s_per_min"] if r["other_rss_mb"]
            else "no server",
            "%.1f" % r["other_rss_mb"] if r["other_rss_mb"]
            else "no server", 100 * r["machine_busy_elsewhere"]))
    out = "\n".join(rows)

    def cells(tot):
        c = []
        for peer in ("rtp", "srt", "webrtc"):
            if ok(peer):
                c.append("%.2f" % (tot / g(peer, "cpu_s_per_min")))
            else:
                c.append("INVALID (%s row)" % peer if peer in res
                         else "not run (--systems)")
        return " | ".join(c)

    lines = ["", "| wzp | CPU s/min | / RTP floor (target ≤ 1.5) "
             "| / srt | / webrtcbin (target < 1) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name in ("gst-wzp-relay", "gst-wzp-direct"):
        if not ok(name):
            continue
        tot = g(name, "cpu_s_per_min")
        lines.append("| %s | %.2f | %s |" % (label[name], tot, cells(tot)))
        if name == "gst-wzp-relay":
            tot_r = tot + (g(name, "other_cpu_s_per_min") or 0)
            lines.append("| … including the relay process | %.2f | %s |"
                         % (tot_r, cells(tot_r)))
    for name in ("wzp-relay", "wzp-direct"):
        if not ok(name) or codec is None:
            continue
        tot = g(name, "cpu_s_per_min") + codec
        lines.append("| %s + codec row | %.2f | %s |" % (
            label[name], tot, cells(tot)))
        if name == "wzp-relay":
            tot_r = tot + (g(name, "other_cpu_s_per_min") or 0)
            lines.append("| … including the relay process | %.2f | %s |"
                         % (tot_r, cells(tot_r)))
    out += "\n" + "\n".join(lines)
    paths = ["%s: %s" % (n, "/".join(res[n]["paths"])) for n in res
             if res[n].get("paths")]
    out += ("\n\nWindow: %.0f s per system after a 2 s warm-up; loopback; "
            "one system at a time.  \"Rest of the machine busy\": CPU time "
            "of everything else (other work, this script) during the "
            "window, in %% of all %d cores; on a quiet machine it is near "
            "0 %%, and the more it is, the noisier that row's CPU figure."
            % (dur, os.cpu_count()))
    if paths:
        out += (" Path each wzpsink/wzpsrc party (A/B) ended on, from its "
                "wzp-path-changed messages: " + "; ".join(paths) + ".")
    return out


if __name__ == "__main__":
    sys.exit(main())
