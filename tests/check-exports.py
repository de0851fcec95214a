#!/usr/bin/env python3
"""Checks that libwzp exports exactly its public API.

    check-exports.py LIBRARY SYMBOL_LIST

SYMBOL_LIST (tests/lib/exported-symbols.txt) names every symbol the shared
library may export, one a line ('#' starts a comment).  The library is
built with -fvisibility=hidden and WZP_API marks the public declarations
(the headers under <wzp/wzp.h>); this reads what it really exports with
`nm -D --defined-only` and fails, naming them, on symbols it exports that
the list does not have (an internal function marked WZP_API, or a new
public one not yet listed) and on listed symbols it does not export.
"""
import subprocess
import sys


def exported(library):
    out = subprocess.run(["nm", "-D", "--defined-only", library],
                         capture_output=True, text=True, check=True).stdout
    symbols = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:
            symbols.add(fields[2].split("@")[0])
    return symbols


def listed(path):
    symbols = set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                symbols.add(line)
    return symbols


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    have, want = exported(sys.argv[1]), listed(sys.argv[2])
    extra, missing = sorted(have - want), sorted(want - have)
    for s in extra:
        print("exported but not in the list (internal? then drop its "
              "WZP_API; public? then list it):", s)
    for s in missing:
        print("listed but not exported:", s)
    print("%d symbols exported, %d listed" % (len(have), len(want)))
    return 1 if extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
