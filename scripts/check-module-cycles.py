#!/usr/bin/env python3
"""Fails when top-level modules of a library crate import each other in a cycle.

For every library crate of the workspace (crates/*/src/lib.rs), the top-level modules are
the `mod NAME;` lines of lib.rs. An edge A -> B is drawn when a file of module A (src/A.rs
or anything under src/A/) names `crate::B` (also inside `use crate::{B, ...}` groups).
Comments are ignored, so doc links do not count. A cycle found prints its path and the
script exits 1. No dependencies beyond Python 3.

  python3 scripts/check-module-cycles.py          check every crate
  python3 scripts/check-module-cycles.py --graph  also print each crate's edges
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MOD_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)
CRATE_PATH_RE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
CRATE_GROUP_RE = re.compile(r"\bcrate::\{")


def strip_comments(text):
    """Drops // and /* */ comments, keeping string literals intact enough for our regexes."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def group_heads(text, start):
    """Top-level names inside the braces of `crate::{...}` starting at text[start] == '{'."""
    depth, i, token, heads, at_head = 0, start, "", [], True
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth > 1:
                at_head = False
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and c == ",":
            at_head = True
        elif depth == 1 and at_head and (c.isalnum() or c == "_"):
            token += c
        elif token:
            heads.append(token)
            token, at_head = "", False
        i += 1
    if token:
        heads.append(token)
    return heads


def module_of(src, path):
    rel = path.relative_to(src)
    if len(rel.parts) == 1:
        return rel.stem
    return rel.parts[0]


def edges_of(src):
    lib = src / "lib.rs"
    modules = set(MOD_RE.findall(strip_comments(lib.read_text())))
    graph = {m: {} for m in modules}
    for path in sorted(src.rglob("*.rs")):
        if path == lib:
            continue
        a = module_of(src, path)
        if a not in modules:
            continue
        text = strip_comments(path.read_text())
        names = CRATE_PATH_RE.findall(text)
        for m in CRATE_GROUP_RE.finditer(text):
            names.extend(group_heads(text, m.end() - 1))
        for b in names:
            if b in modules and b != a:
                graph[a].setdefault(b, str(path.relative_to(ROOT)))
    return graph


def components(graph):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def a_cycle(graph, comp):
    """One concrete cycle inside a strongly connected component, for the message."""
    start = min(comp)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w not in comp:
                continue
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(comp)


def main():
    show = "--graph" in sys.argv
    failed = False
    for lib in sorted(ROOT.glob("crates/*/src/lib.rs")):
        src = lib.parent
        crate = src.parent.name
        graph = edges_of(src)
        if show:
            for a in sorted(graph):
                print(f"{crate}: {a} -> {', '.join(sorted(graph[a])) or '-'}")
        for comp in components(graph):
            failed = True
            cycle = a_cycle(graph, comp)
            steps = " -> ".join(cycle)
            where = "; ".join(f"{a}->{b} in {graph[a][b]}" for a, b in zip(cycle, cycle[1:]))
            print(f"{crate}: import cycle between top-level modules: {steps}\n  {where}", file=sys.stderr)
            others = sorted(comp - set(cycle))
            if others:
                print(f"  (same knot: {', '.join(others)})", file=sys.stderr)
    if failed:
        return 1
    print("no import cycles between top-level modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
