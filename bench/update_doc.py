#!/usr/bin/python3
"""Replace (or append) one '## TITLE' section of docs/BENCHMARKS.md.

  update_doc.py DOC TITLE BODYFILE COMMAND

The section gets the command, the date, the machine, then BODYFILE's
text, then bench/notes/<title-slug>.md (the hand-written reading).  Other sections (other engineers' benchmarks) are left alone.
"""
import datetime
import os
import platform
import re
import subprocess
import sys


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
    try:
        gst = subprocess.run(["gst-launch-1.0", "--version"],
                             capture_output=True, text=True).stdout
        gst = gst.splitlines()[1].strip()
    except (OSError, IndexError):
        gst = "?"
    return "%s, %d CPUs, Linux %s, %s" % (cpu, os.cpu_count(),
                                          platform.release(), gst)


def main():
    doc, title, bodyfile, command = sys.argv[1:5]
    with open(bodyfile) as f:
        body = f.read().strip()
    # Hand-written reading of the numbers, kept next to the benchmarks.
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "notes", re.sub(r"[^a-z0-9]+", "-",
                                         title.lower()).strip("-") + ".md")
    if os.path.exists(notes):
        with open(notes) as f:
            body += "\n\n" + f.read().strip()
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    section = ("## %s\n\nCommand: `%s`  \nDate: %s  \nMachine: %s\n\n%s\n"
               % (title, command, date, machine(), body))
    text = ""
    if os.path.exists(doc):
        with open(doc) as f:
            text = f.read()
    else:
        text = "# Benchmarks\n\nEvery number here was measured side by " \
               "side with the systems it is compared with, in one run on " \
               "one machine.  `bench/run-all.sh [--quick]` runs them all.\n"
    pat = re.compile(r"^## %s\n.*?(?=^## |\Z)" % re.escape(title),
                     re.M | re.S)
    if pat.search(text):
        text = pat.sub(lambda m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(doc, "w") as f:
        f.write(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
