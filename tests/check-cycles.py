#!/usr/bin/env python3
"""The file graph of libwzp and the relay, from the compiler's output: no
cycles between files, no call from a lower layer to a higher one.

    check-cycles.py [--edges FOLDER] SOURCE_ROOT STATIC_LIBRARY...

Reads every object file of the static libraries with `nm`: file A depends
on file B when A uses a symbol B defines (a call, or a variable).  A
type's GType function (*_get_type) does not count: a helper that checks
or casts the object it is given (WZP_IS_CALL (self)) knows the type, it
does not call back into the object's code.  Then:

  - layers: a file of one folder may use only the folders below it
    (the table of tests/check-layers.py, which checks the #includes; this
    checks what the code really calls);
  - cycles: every group of files that reach each other (a strongly
    connected component of more than one file) is listed with one cycle
    through it.  An object is one file, or a core file plus helpers that do
    not call back into it.

Every cycle is reported.  The ones in KNOWN_CYCLES (folders that other
work is restructuring) do not fail the check as long as they do not grow;
any other cycle, or a known one that grew, fails it.  Exit 0 or 1.
With --edges FOLDER (e.g. lib/call), it also prints which file uses which
in that folder, and through which symbols.
"""
import collections
import importlib.util
import os
import re
import subprocess
import sys

# Cycles that remain in folders other work is changing now (the signal
# client; lib/quic: the endpoint and its connections, to be untangled
# next; lib/path's went with issue 14).  A cycle found must be one of these
# or part of one; shrink this list as they go.
KNOWN_CYCLES = [
    {"lib/quic/wzp-connection.c", "lib/quic/wzp-connection-close.c",
     "lib/quic/wzp-connection-io.c", "lib/quic/wzp-connection-ngtcp2.c",
     "lib/quic/wzp-endpoint.c", "lib/quic/wzp-endpoint-recv.c",
     "lib/quic/wzp-endpoint-send.c", "lib/quic/wzp-endpoint-admit.c"},
    {"lib/signal/wzp-signal-client.c",
     "lib/signal/wzp-signal-client-handlers.c"},
]

HERE = os.path.dirname(os.path.abspath(__file__))


def layer_table():
    spec = importlib.util.spec_from_file_location(
        "check_layers", os.path.join(HERE, "check-layers.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ALLOWED


def source_files(root, folders):
    """Source file name -> its path from @root, for the layer folders."""
    files = {}
    for folder in folders:
        for name in os.listdir(os.path.join(root, folder)):
            if name.endswith(".c"):
                files[name] = folder + "/" + name
    return files


def read_objects(archives, files):
    """Per source file: the global symbols it defines and the ones it
    uses."""
    defines = collections.defaultdict(set)
    uses = collections.defaultdict(set)
    for archive in archives:
        out = subprocess.run(["nm", "-o", archive], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            # "ARCHIVE:MEMBER:ADDRESS TYPE SYMBOL" or "ARCHIVE:MEMBER:  U SYM"
            m = re.match(r"^[^:]+:([^:]+):\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+"
                         r"(\S+)$", line)
            if not m:
                continue
            member, kind, symbol = m.groups()
            name = re.search(r"(wzp-[^/_]*?\.c)\.o$", member)
            if not name or name.group(1) not in files:
                continue
            path = files[name.group(1)]
            if kind == "U":
                uses[path].add(symbol)
            elif kind.isupper():
                defines[path].add(symbol)
    return defines, uses


def build_graph(defines, uses):
    owner = {}
    for path, symbols in defines.items():
        for s in symbols:
            owner[s] = path
    graph = collections.defaultdict(dict)      # a -> b -> [symbols]
    for path, symbols in uses.items():
        for s in sorted(symbols):
            if s.endswith("_get_type"):
                continue
            target = owner.get(s)
            if target and target != path:
                graph[path].setdefault(target, []).append(s)
    return graph


def components(graph, nodes):
    """Tarjan's strongly connected components."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def one_cycle(graph, comp):
    """A shortest cycle through the component's first file."""
    start = sorted(comp)[0]
    prev = {start: None}
    queue = collections.deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph.get(v, {})):
            if w not in comp:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def folder_of(path):
    return os.path.dirname(path)


def main():
    args = sys.argv[1:]
    edges = None
    if args[:1] == ["--edges"]:
        edges, args = args[1], args[2:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, archives = args[0], args[1:]
    allowed = layer_table()
    folders = [f for f in allowed if f != "gst"]
    files = source_files(root, folders)
    defines, uses = read_objects(archives, files)
    graph = build_graph(defines, uses)
    failed = False

    if edges:
        for a in sorted(graph):
            for b, symbols in sorted(graph[a].items()):
                if folder_of(a) == edges and folder_of(b) == edges:
                    print("%s -> %s: %s" % (a, b, ", ".join(symbols)))

    for a in sorted(graph):
        for b, symbols in sorted(graph[a].items()):
            fa, fb = folder_of(a), folder_of(b)
            if fa != fb and fb not in allowed[fa]:
                print("LAYER: %s uses %s (%s), a layer it may not use"
                      % (a, b, ", ".join(symbols[:3])))
                failed = True

    nodes = set(defines) | set(uses)
    for comp in sorted(components(graph, nodes), key=sorted):
        cycle = one_cycle(graph, comp)
        steps = " -> ".join(
            "%s [%s]" % (cycle[i], graph[cycle[i]][cycle[i + 1]][0])
            for i in range(len(cycle) - 1)) + " -> " + cycle[-1]
        known = any(comp <= k for k in KNOWN_CYCLES)
        print("%s: %d files call each other: %s"
              % ("known cycle" if known else "CYCLE", len(comp),
                 ", ".join(sorted(comp))))
        print("    for example: " + steps)
        failed = failed or not known

    print("%d files, %d dependencies" % (len(nodes),
                                        sum(len(v) for v in graph.values())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
