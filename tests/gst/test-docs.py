#!/usr/bin/python3
"""docs/ELEMENTS.md and the elements agree on their properties.

    test-docs.py SOURCE_DIR

Every row of a property table in docs/ELEMENTS.md (a table whose first
column is "property") names a property that exists: `name` on at least
one of wzpsrc, wzpsink and wzproomsrc, `element` `name` on that element.
And every property the wzp elements define themselves (not inherited from
GstBaseSrc, GstBaseSink, GstBin...) is in one of those tables.  (The docs
once described an `is-live` property that does not exist.)
"""
import os
import re
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

ELEMENTS = ("wzpsrc", "wzpsink", "wzproomsrc")


def documented(path):
    """(element or None, property) for each row of each property table."""
    rows, in_table = [], False
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not line.startswith("|"):
                in_table = False
                continue
            if cells[0] == "property":
                in_table = True
                continue
            if not in_table or set(cells[0]) <= set("-: "):
                continue
            names = re.findall(r"`([^`]+)`", cells[0])
            if len(names) == 1:
                rows.append((None, names[0]))
            elif len(names) == 2 and names[0] in ELEMENTS:
                rows.append((names[0], names[1]))
            else:
                rows.append(("?", cells[0]))
    return rows


def main():
    Gst.init(None)
    elements = {}
    for name in ELEMENTS:
        e = Gst.ElementFactory.make(name, None)
        if e is None:
            print("FAIL: no element", name)
            return 1
        elements[name] = e
    rows = documented(os.path.join(sys.argv[1], "docs", "ELEMENTS.md"))
    bad = []
    for element, prop in rows:
        if element == "?":
            bad.append("a property row names no property: %s" % prop)
        elif element:
            if elements[element].find_property(prop) is None:
                bad.append("%s has no property %s" % (element, prop))
        elif not any(e.find_property(prop) for e in elements.values()):
            bad.append("no element has the property %s" % prop)
    names = {p for _, p in rows}
    for name, e in elements.items():
        for spec in e.list_properties():
            owner = spec.owner_type.name
            if owner.startswith("GstWzp") and spec.name not in names:
                bad.append("%s:%s is not in docs/ELEMENTS.md" % (name,
                                                                 spec.name))
    for b in bad:
        print("FAIL:", b)
    print("%d documented properties checked" % len(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
