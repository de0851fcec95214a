#!/usr/bin/python3
"""Rewrite one '## TITLE' section of docs/BENCHMARKS.md.

  update_doc.py DOC TITLE BODYFILE COMMAND
      The section becomes: the command, the date, the machine (CPU, cores,
      kernel, GStreamer version), BODYFILE's text, then
      bench/notes/<title-slug>.md (the hand-written reading).
  update_doc.py --stamp DOC TITLE COMMAND
      For a benchmark that writes its own section (bench-nat-setup.py
      --write): put the same command/date/machine lines under its heading.
  update_doc.py --check DOC
      Lists every table row with a cell that holds no result (a dash,
      nan, INVALID, failed, not measured) and exits 1 if there is one.

Other sections (other engineers' benchmarks) are left alone; a new
section goes at the end.
"""
import datetime
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTRO = """# Benchmarks

wzp measured side by side with the systems users would pick instead (plain
RTP/UDP, srt, webrtcbin, a bare UDP forwarder), each section in one run on
one machine.  One command installs what the benchmarks need, builds, runs
them all and rewrites every section and the summary:

    ./scripts/bootstrap bench            # or --quick: the short versions

Each section says the command, date, machine and GStreamer version that
produced it; the reading of the numbers is kept in `bench/notes/`.
Measurements of earlier builds are in `docs/BENCHMARKS-HISTORY.md`.
"""
HEADER_RE = re.compile(r"^Command: .*\n(?:Date: .*\n)?(?:Machine: .*\n)?\n?",
                       re.M)
EMPTY = {"—", "–", "-", "nan", "?", "n/a"}


def gst_version():
    try:
        out = subprocess.run(["gst-launch-1.0", "--version"],
                             capture_output=True, text=True).stdout
        return out.splitlines()[1].strip()
    except (OSError, IndexError):
        return "GStreamer ?"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs, Linux %s, %s" % (cpu, os.cpu_count(),
                                          platform.release(), gst_version())


def header(command):
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return "Command: `%s`  \nDate: %s  \nMachine: %s\n" % (
        command, date, machine())


def slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def section_re(title):
    return re.compile(r"^## %s\n.*?(?=^## |\Z)" % re.escape(title),
                      re.M | re.S)


def read(doc):
    if os.path.exists(doc):
        with open(doc) as f:
            return f.read()
    return INTRO


def write(doc, text):
    with open(doc, "w") as f:
        f.write(text.rstrip("\n") + "\n")


def put_section(doc, title, section, first=False):
    """Replaces section TITLE, or adds it (after the intro when first)."""
    text = read(doc)
    pat = section_re(title)
    if pat.search(text):
        text = pat.sub(lambda m: section.rstrip("\n") + "\n\n", text)
    elif first:
        m = re.search(r"^## ", text, re.M)
        at = m.start() if m else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + section.rstrip("\n") + \
            "\n\n" + text[at:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    write(doc, text)


def notes(title):
    path = os.path.join(HERE, "notes", slug(title) + ".md")
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    return ""


def write_section(doc, title, body, command, first=False):
    section = "## %s\n\n%s\n%s\n" % (title, header(command), body.strip())
    extra = notes(title)
    if extra:
        section += "\n" + extra + "\n"
    put_section(doc, title, section, first)


def stamp(doc, title, command):
    text = read(doc)
    m = section_re(title).search(text)
    if not m:
        sys.exit("update_doc: no section '## %s' in %s" % (title, doc))
    body = m.group(0)[len("## %s\n" % title):].lstrip("\n")
    body = HEADER_RE.sub("", body, count=1) if body.startswith(
        "Command: ") else body
    put_section(doc, title, "## %s\n\n%s\n%s" % (title, header(command),
                                                 body))


def empty_cells(text):
    """(line number, section, row) of table cells that hold no result."""
    bad = []
    sect = ""
    lines = text.splitlines()
    sep = re.compile(r"^\|[\s:|-]+\|$")
    for n, line in enumerate(lines, 1):
        if line.startswith("## "):
            sect = line[3:].strip()
        if not line.startswith("|") or sep.match(line.strip()):
            continue
        if n < len(lines) and sep.match(lines[n].strip()):
            continue        # a header row: names, not results
        for cell in line.strip().strip("|").split("|"):
            c = cell.strip()
            if (c in EMPTY or "INVALID" in c or c.startswith("failed:")
                    or c.startswith("not measured")):
                bad.append((n, sect, line.strip()[:160]))
                break
    return bad


def main(argv):
    if argv[:1] == ["--stamp"] and len(argv) == 4:
        stamp(*argv[1:])
        return 0
    if argv[:1] == ["--check"] and len(argv) == 2:
        bad = empty_cells(read(argv[1]))
        for n, sect, row in bad:
            print("%s:%d: [%s] %s" % (argv[1], n, sect, row))
        return 1 if bad else 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    doc, title, bodyfile, command = argv
    with open(bodyfile) as f:
        body = f.read()
    write_section(doc, title, body, command)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
