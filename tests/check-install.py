#!/usr/bin/env python3
"""Checks what `meson install` installs for libwzp.

    check-install.py BUILD_DIR SYMBOL_LIST [--gir]

Installs BUILD_DIR into a temporary DESTDIR (meson install --destdir
--no-rebuild) and checks:
  - the headers are <wzp/wzp.h> and the public headers it includes, and no
    other header is installed anywhere;
  - a program that includes only <wzp/wzp.h> compiles against the installed
    headers (with pkg-config wzp-1.0's flags), links against the installed
    libwzp-1.0.so and runs: the public headers stand on their own;
  - the installed libwzp-1.0.so exports exactly SYMBOL_LIST
    (check-exports.py);
  - the pkg-config file, and with --gir Wzp-1.0.gir and Wzp-1.0.typelib,
    are installed.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLIC = {"wzp.h", "wzp-version.h", "wzp-log.h", "wzp-identity.h",
          "wzp-path-types.h", "wzp-relay-channel-state.h",
          "wzp-call.h", "wzp-jitter.h"}

PROGRAM = r"""
#include <wzp/wzp.h>

int
main (void)
{
  WzpIdentity *id = wzp_identity_generate ();
  WzpCall *call = wzp_call_new (NULL, id, "127.0.0.1:4433");
  WzpJitter *jb = wzp_jitter_new (60, 500);
  WzpCallStats stats;

  wzp_call_get_stats (call, &stats);
  g_print ("%s %s %s %s\n", wzp_identity_get_fingerprint (id),
      wzp_call_state_to_string (stats.state),
      wzp_path_kind_to_string (wzp_call_get_path (call)),
      g_type_name (WZP_TYPE_CALL));
  wzp_jitter_unref (jb);
  g_object_unref (call);
  g_object_unref (id);
  return 0;
}
"""


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def find(root, name):
    for dirpath, _, files in os.walk(root):
        if name in files:
            return os.path.join(dirpath, name)
    return None


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, symbols = sys.argv[1], sys.argv[2]
    want_gir = "--gir" in sys.argv[3:]
    with tempfile.TemporaryDirectory(prefix="wzp-install-") as dest:
        subprocess.run(["meson", "install", "-C", build, "--no-rebuild",
                        "--quiet", "--destdir", dest], check=True,
                       stdout=subprocess.DEVNULL)

        headers = []
        for dirpath, _, files in os.walk(dest):
            headers += [os.path.join(dirpath, f) for f in files
                        if f.endswith(".h")]
        wzp_dirs = {os.path.dirname(h) for h in headers}
        if len(wzp_dirs) != 1 or not next(iter(wzp_dirs)).endswith(
                os.path.join("include", "wzp-1.0", "wzp")):
            fail("headers installed in %s" % sorted(wzp_dirs))
        names = {os.path.basename(h) for h in headers}
        if names != PUBLIC:
            fail("installed headers: extra %s, missing %s"
                 % (sorted(names - PUBLIC), sorted(PUBLIC - names)))
        include = os.path.dirname(next(iter(wzp_dirs)))
        print("headers:", " ".join(sorted(names)), flush=True)

        lib = find(dest, "libwzp-1.0.so")
        pc = find(dest, "wzp-1.0.pc")
        if not lib or not pc:
            fail("libwzp-1.0.so or wzp-1.0.pc not installed")
        if subprocess.run([sys.executable,
                           os.path.join(HERE, "check-exports.py"), lib,
                           symbols]).returncode != 0:
            fail("the installed library exports other symbols")
        if want_gir and not (find(dest, "Wzp-1.0.gir")
                             and find(dest, "Wzp-1.0.typelib")):
            fail("Wzp-1.0.gir or Wzp-1.0.typelib not installed")

        # Only the installed headers, and GLib's (from pkg-config).
        src = os.path.join(dest, "app.c")
        exe = os.path.join(dest, "app")
        with open(src, "w") as f:
            f.write(PROGRAM)
        glib = subprocess.run(["pkg-config", "--cflags", "--libs",
                               "gio-2.0", "gobject-2.0", "glib-2.0"],
                              capture_output=True, text=True,
                              check=True).stdout.split()
        cc = os.environ.get("CC", "cc")
        r = subprocess.run([cc, "-Wall", "-Werror", "-o", exe, src,
                            "-I" + include, "-L" + os.path.dirname(lib),
                            "-lwzp-1.0"] + glib,
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("an app using <wzp/wzp.h> does not build:\n" + r.stderr)
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(lib))
        r = subprocess.run([exe], capture_output=True, text=True, env=env)
        if r.returncode != 0 or "WzpCall" not in r.stdout:
            fail("the app did not run: %s %s" % (r.stdout, r.stderr))
        print("app:", r.stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
