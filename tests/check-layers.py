#!/usr/bin/env python3
"""The layers of libwzp, checked: no file includes a header of a layer
above its own (or of a layer it is not allowed to use).

    tests/check-layers.py SOURCE_ROOT

Layers are the folders of lib/ (see docs/ARCHITECTURE.md), plus relay/
and gst/ on top.  Every `#include "wzp-*.h"` in them is resolved by file
name to the folder that holds the header.  Exit 0 when every include is
allowed, 1 with one line per violation otherwise.
"""
import os
import re
import sys

# Which folders each folder may include headers from (its own always).
ALLOWED = {
    "lib/base": set(),
    "lib/quic": {"lib/base"},
    "lib/media": {"lib/base"},
    "lib/nat": {"lib/quic", "lib/base"},
    "lib/signal": {"lib/nat", "lib/quic", "lib/base"},
    "lib/path": {"lib/nat", "lib/quic", "lib/base"},
    "lib/call": {"lib/path", "lib/signal", "lib/nat", "lib/media",
                 "lib/quic", "lib/base"},
    "relay": {"lib/signal", "lib/quic", "lib/base"},
    # The plugin is a client of the library's public API, <wzp/wzp.h>
    # (which its build sees alone), never of an internal header or the
    # relay.
    "gst": set(),
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"(wzp-[^"]+\.h)"', re.M)


def main(root):
    home = {}                          # header name -> folder
    sources = []                       # (folder, path)
    for folder in ALLOWED:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            print("check-layers: %s is missing" % folder)
            return 1
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                sources.append((folder, os.path.join(d, name)))
                if name.startswith("wzp-") and name.endswith(".h"):
                    if name in home:
                        print("check-layers: %s is in both %s and %s" % (
                            name, home[name], folder))
                        return 1
                    home[name] = folder
    bad = []
    for folder, path in sources:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            target = home.get(m.group(1))
            if target is None:
                bad.append("%s: includes %s, which no layer has" % (
                    os.path.relpath(path, root), m.group(1)))
            elif target != folder and target not in ALLOWED[folder]:
                line = text.count("\n", 0, m.start()) + 1
                bad.append("%s:%d: %s may not include %s (from %s)" % (
                    os.path.relpath(path, root), line, folder,
                    m.group(1), target))
    for b in bad:
        print(b)
    print("check-layers: %d files, %d violations" % (len(sources), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
