#!/usr/bin/env python3
"""Fails when a Rust file or function is too long (issue 17: no function over 80 lines, no
file over 600 lines outside tests and data).

Every `.rs` file under crates/ and src/ is read, except files under a `tests/` directory.
`#[cfg(test)]` items (the `mod tests { ... }` block, test-only helpers) do not count:

  - a file's size is its line count without its `#[cfg(test)]` items (max 600);
  - a function's size runs from its `fn` line to its closing brace at the same indentation
    (rustfmt's layout), both included (max 80). Functions inside `#[cfg(test)]` items are
    skipped; a nested function counts on its own and inside its parent.

Findings print as `path:line: ...`; the script exits 1 when any is not in ALLOWED below.
An ALLOWED entry that no longer exceeds its limit is reported as stale (delete it), without
failing. No dependencies beyond Python 3.

  python3 scripts/check-sizes.py            check
  python3 scripts/check-sizes.py --top 20   also print the 20 longest functions
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE = 600
MAX_FN = 80

# Known findings, each with why it stays. Keys: a path (the file's size) or
# `path::function` (every function of that name in the file). Keep this short: split the
# code instead where you can.
ALLOWED = {}

FN_RE = re.compile(
    r"^(?P<indent>\s*)(?:pub(?:\([^)]*\))?\s+)?(?:default\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:extern\s+\"[^\"]*\"\s+)?fn\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
)
CFG_TEST_RE = re.compile(r"^\s*#\[cfg\((?:test|all\(test\b[^\]]*)\)\]\s*$")
ATTR_RE = re.compile(r"^\s*#\[")


def item_end(lines, start):
    """The index of the last line of the item starting at lines[start]: a one-line item
    (`mod x;`, `fn f() { 1 }`), else the first later line that is the item's indentation
    followed by `}`."""
    indent = re.match(r"\s*", lines[start]).group(0)
    for j in range(start, len(lines)):
        code = lines[j].split("//", 1)[0].rstrip()
        if "{" in code:
            if code.count("{") == code.count("}") and code.endswith("}"):
                return j  # the whole item on one line
            break
        if code.endswith(";"):
            return j  # a declaration without a body
    close = indent + "}"
    for k in range(start + 1, len(lines)):
        line = lines[k].rstrip()
        if line == close or (line.startswith(close) and not line[len(close) :][:1].isalnum()):
            return k
    return len(lines) - 1


def test_lines(lines):
    """Indexes of lines inside `#[cfg(test)]` items (the attribute line included)."""
    out = set()
    i = 0
    while i < len(lines):
        if CFG_TEST_RE.match(lines[i]):
            j = i + 1
            while j < len(lines) and (ATTR_RE.match(lines[j]) or lines[j].strip().startswith("//")):
                j += 1
            if j < len(lines):
                end = item_end(lines, j)
                out.update(range(i, end + 1))
                i = end + 1
                continue
        i += 1
    return out


def functions(lines, skip):
    """(name, first line index, length) of every function with a body outside `skip`."""
    for i, line in enumerate(lines):
        if i in skip:
            continue
        m = FN_RE.match(line)
        if not m:
            continue
        end = item_end(lines, i)
        if lines[end].split("//", 1)[0].rstrip().endswith(";") and "{" not in "".join(lines[i : end + 1]):
            continue  # a trait method without a default body
        yield m.group("name"), i, end - i + 1


def rust_files():
    for top in ("crates", "src"):
        base = ROOT / top
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.rs")):
            rel = path.relative_to(ROOT)
            if "tests" in rel.parts[:-1] or "target" in rel.parts:
                continue
            yield rel, path


def main():
    top = 0
    if "--top" in sys.argv:
        top = int(sys.argv[sys.argv.index("--top") + 1])
    findings, allowed_hit, all_fns = [], set(), []
    for rel, path in rust_files():
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        tests = test_lines(lines)
        size = len(lines) - len(tests)
        key = rel.as_posix()
        if size > MAX_FILE:
            if key in ALLOWED:
                allowed_hit.add(key)
            else:
                findings.append(f"{key}:1: {size} lines outside tests (max {MAX_FILE})")
        for name, i, n in functions(lines, tests):
            all_fns.append((n, f"{key}:{i + 1}: fn {name}"))
            if n > MAX_FN:
                fkey = f"{key}::{name}"
                if fkey in ALLOWED:
                    allowed_hit.add(fkey)
                else:
                    findings.append(f"{key}:{i + 1}: fn {name} is {n} lines (max {MAX_FN})")
    for line in findings:
        print(line)
    for key in sorted(set(ALLOWED) - allowed_hit):
        print(f"stale allow-list entry (now within limits; delete it): {key}")
    for key in sorted(allowed_hit):
        print(f"allowed: {key}: {ALLOWED[key]}")
    if top:
        print(f"longest functions:")
        for n, where in sorted(all_fns, reverse=True)[:top]:
            print(f"  {n:4} {where}")
    if findings:
        print(f"{len(findings)} over the limits (files {MAX_FILE} lines, functions {MAX_FN} lines)", file=sys.stderr)
        return 1
    print(f"no file over {MAX_FILE} lines, no function over {MAX_FN} lines (outside tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
