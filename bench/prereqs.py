#!/usr/bin/python3
"""What each benchmark needs, checked before it does any work.

A benchmark calls `prereqs.require("bench-xyz", build=DIR)` first; when
something is missing it exits with status 2 and a message naming the
Debian 12 package that provides each missing piece, instead of running
and printing empty cells.  `scripts/bootstrap bench` installs all of them.

  bench/prereqs.py [--build DIR] [--profile] [NAME...]

checks the named benchmarks (all of them without a name) in one go;
bench/run-all.sh does that before it starts, so a missing package stops
the run in a second, not after ten minutes.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

# GStreamer element -> Debian package that provides it.  "build" means
# this project's own plugin (build/gst).
ELEMENT_PACKAGE = {
    "audiotestsrc": "gstreamer1.0-plugins-base",
    "audioconvert": "gstreamer1.0-plugins-base",
    "audioresample": "gstreamer1.0-plugins-base",
    "opusenc": "gstreamer1.0-plugins-base",
    "opusdec": "gstreamer1.0-plugins-base",
    "appsink": "gstreamer1.0-plugins-base",
    "rtpopuspay": "gstreamer1.0-plugins-good",
    "rtpopusdepay": "gstreamer1.0-plugins-good",
    "rtpjitterbuffer": "gstreamer1.0-plugins-good",
    "udpsrc": "gstreamer1.0-plugins-good",
    "udpsink": "gstreamer1.0-plugins-good",
    "level": "gstreamer1.0-plugins-good",
    "srtsrc": "gstreamer1.0-plugins-bad",
    "srtsink": "gstreamer1.0-plugins-bad",
    "webrtcbin": "gstreamer1.0-plugins-bad",
    "dtlssrtpenc": "gstreamer1.0-plugins-bad",
    "srtpenc": "gstreamer1.0-plugins-bad",
    # webrtcbin's ICE transport streams through libnice's elements.
    "nicesrc": "gstreamer1.0-nice",
    "nicesink": "gstreamer1.0-nice",
    "audiomixer": "gstreamer1.0-plugins-base",
    "fakesink": "libgstreamer1.0-0",
    "wzpsrc": "build",
    "wzpsink": "build",
    "wzproomsrc": "build",
}

# GObject-introspection namespace -> Debian package with its typelib.
TYPELIB_PACKAGE = {
    "Gst": "gir1.2-gstreamer-1.0",
    "GstWebRTC": "gir1.2-gst-plugins-bad-1.0",
    "GstSdp": "gir1.2-gst-plugins-base-1.0",
}

MODULE_PACKAGE = {
    "gi": "python3-gi",
    "numpy": "python3-numpy",
}

PROGRAM_PACKAGE = {
    "gst-launch-1.0": "gstreamer1.0-tools",
    "gst-inspect-1.0": "gstreamer1.0-tools",
    "ip": "iproute2",
    "ss": "iproute2",
    "nft": "nftables",
    "ethtool": "ethtool",
    "taskset": "util-linux",
    "perf": "linux-perf",
    "turnserver": "coturn",
    "redis-server": "redis-server",
    "redis-cli": "redis-tools",
    "valgrind": "valgrind",
    "conntrack": "conntrack",
    "callgrind_control": "valgrind",
}

# Files of this project's build each benchmark runs (relative to the build
# directory).
TOOL = "tools/wzp"
RELAY = "tools/wzp-relay"
PLUGIN = "gst"
DELAYBRIDGE = "tests/nat/wzp-delaybridge"
PATH_PROBE = "tools/wzp-path-probe"
LOADGEN = "bench/wzp-loadgen"
FORWARDER = "bench/udp-forwarder"
FAULT = "tests/fault/wzp-fault"
CALLGEN = "bench/wzp-callgen"

_LAB = dict(root=True, programs=["ip", "nft", "ethtool"])
_WEBRTC = ["webrtcbin", "dtlssrtpenc", "srtpenc", "nicesrc", "nicesink",
           "audiotestsrc", "opusenc", "opusdec", "rtpopuspay",
           "rtpopusdepay"]

NEEDS = {
    "bench-call-cpu": dict(
        programs=["gst-launch-1.0"],
        modules=["gi"], typelibs=["Gst", "GstWebRTC", "GstSdp"],
        elements=_WEBRTC + ["level", "udpsrc", "udpsink", "rtpjitterbuffer",
                            "srtsrc", "srtsink", "wzpsrc", "wzpsink"],
        built=[TOOL, RELAY, PLUGIN]),
    "bench-setup-vs-webrtc": dict(
        modules=["gi"], typelibs=["Gst", "GstWebRTC", "GstSdp"],
        elements=_WEBRTC, built=[TOOL, RELAY, DELAYBRIDGE], **_LAB),
    "bench-nat-setup": dict(built=[TOOL, RELAY, DELAYBRIDGE], **_LAB),
    "bench-loss": dict(
        root=True, programs=["nft", "ss"], modules=["gi", "numpy"],
        typelibs=["Gst"],
        elements=["audiotestsrc", "opusenc", "opusdec", "audioconvert",
                  "audioresample", "appsink", "rtpopuspay", "rtpopusdepay",
                  "rtpjitterbuffer", "udpsrc", "udpsink", "wzpsrc",
                  "wzpsink"],
        built=[RELAY, PLUGIN]),
    "bench-setup-loss": dict(root=True, programs=["nft"],
                             built=[TOOL, RELAY]),
    "bench-relay": dict(programs=["taskset"],
                        built=[RELAY, LOADGEN, FORWARDER]),
    # Its coturn mode and its --callgrind counts.
    "bench-relay-coturn": dict(programs=["turnserver"]),
    "bench-relay-callgrind": dict(programs=["valgrind", "callgrind_control"]),
    "bench-room": dict(
        programs=["gst-launch-1.0"],
        elements=["audiotestsrc", "opusenc", "opusdec", "audiomixer",
                  "fakesink", "wzpsink", "wzproomsrc"],
        built=[TOOL, RELAY, PLUGIN]),
    "bench-relay-flood": dict(programs=["valgrind"],
                              built=[TOOL, RELAY, FAULT]),
    # (natlab's rebind() flushes a NAT's mappings with conntrack.)
    "bench-failover": dict(root=True, programs=["ip", "nft", "ethtool",
                                                "conntrack"],
                           built=[TOOL, RELAY, DELAYBRIDGE]),
    "bench-symmetric-spray": dict(built=[TOOL, PATH_PROBE, DELAYBRIDGE],
                                  **_LAB),
    "bench-cluster": dict(root=True,
                          programs=["ip", "nft", "ethtool", "redis-server",
                                    "redis-cli"],
                          built=[TOOL, RELAY, DELAYBRIDGE, CALLGEN]),
}
# Only with --profile.
PROFILE_NEEDS = {"bench-call-cpu": dict(programs=["perf"])}


def default_build():
    return os.environ.get("WZP_BUILD_DIR", os.path.join(TOP, "build"))


def _element_exists(name, env):
    try:
        # Not --exists: it also demands the plugin's version be at least
        # GStreamer's own, which this project's 0.x plugin is not.
        r = subprocess.run(["gst-inspect-1.0", name], env=env,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120)
    except OSError:
        return False
    return r.returncode == 0


def _typelib_exists(ns):
    # In a child: a failed gi.require_version taints this interpreter.
    code = ("import gi; gi.require_version(%r, '1.0'); "
            "from gi.repository import %s" % (ns, ns))
    r = subprocess.run([sys.executable, "-c", code],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def check(name, build=None, profile=False):
    """Returns a list of (what is missing, how to get it) pairs."""
    need = {}
    for src in (NEEDS[name], PROFILE_NEEDS.get(name, {}) if profile else {}):
        for k, v in src.items():
            need[k] = need.get(k, []) + v if isinstance(v, list) else v
    build = build or default_build()
    missing = []
    if need.get("root") and os.geteuid() != 0:
        missing.append(("root (network namespaces, nftables)",
                        "run it as root or with sudo"))
    for prog in need.get("programs", []):
        if shutil.which(prog) is None:
            missing.append(("the program %s" % prog,
                            "package " + PROGRAM_PACKAGE[prog]))
    for mod in need.get("modules", []):
        if importlib.util.find_spec(mod) is None:
            how = "package " + MODULE_PACKAGE[mod]
            if sys.executable != "/usr/bin/python3":
                how += (" (for /usr/bin/python3; this is %s: run the "
                        "benchmark with /usr/bin/python3)" % sys.executable)
            missing.append(("the Python module %s" % mod, how))
    built_missing = False
    for rel in need.get("built", []):
        path = os.path.join(build, rel)
        ok = (any(f.endswith(".so") for f in os.listdir(path))
              if rel == PLUGIN and os.path.isdir(path) else
              os.access(path, os.X_OK) and os.path.isfile(path))
        if not ok:
            built_missing = True
            missing.append((path, "build it: meson setup %s -Dgst=enabled "
                            "-Dtests=enabled && meson compile -C %s"
                            % (build, build)))
    if need.get("typelibs") and importlib.util.find_spec("gi") is not None:
        for ns in need["typelibs"]:
            if not _typelib_exists(ns):
                missing.append(("the %s-1.0 typelib (GObject introspection)"
                                % ns, "package " + TYPELIB_PACKAGE[ns]))
    elements = need.get("elements", [])
    if elements and shutil.which("gst-inspect-1.0"):
        env = dict(os.environ)
        plugdir = os.path.join(build, PLUGIN)
        env["GST_PLUGIN_PATH"] = plugdir + (
            ":" + env["GST_PLUGIN_PATH"] if env.get("GST_PLUGIN_PATH")
            else "")
        for el in sorted(set(elements)):
            pkg = ELEMENT_PACKAGE[el]
            if pkg == "build" and built_missing:
                continue        # already reported as the plugin file
            if not _element_exists(el, env):
                missing.append((
                    "the GStreamer element %s" % el,
                    "this project's plugin in %s (meson compile -C %s)"
                    % (plugdir, build) if pkg == "build"
                    else "package " + pkg))
    return missing


def packages(missing):
    return sorted(set(how.split()[1] for _, how in missing
                      if how.startswith("package ")))


def report(name, missing, out=sys.stderr):
    print("%s: missing prerequisites:" % name, file=out)
    for what, how in missing:
        print("  %s: %s" % (what, how), file=out)
    pk = packages(missing)
    if pk:
        print("install with: apt-get install %s\n(./scripts/bootstrap bench "
              "installs every package the benchmarks need)" % " ".join(pk),
              file=out)


def require(name, build=None, profile=False):
    """Exits with status 2, naming what is missing, unless `name` can run."""
    missing = check(name, build, profile)
    if missing:
        report(name, missing)
        sys.exit(2)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=default_build())
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("names", nargs="*", help="benchmarks (default: all)")
    a = ap.parse_args()
    rc = 0
    allmissing = []
    for name in a.names or list(NEEDS):
        missing = check(name, a.build, a.profile)
        if missing:
            report(name, missing)
            allmissing += missing
            rc = 2
    if allmissing and len(a.names) != 1:
        pk = packages(allmissing)
        if pk:
            print("all benchmarks: apt-get install %s" % " ".join(pk),
                  file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
