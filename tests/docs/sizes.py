#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sizes of spmi's own sources: no file over 400 lines and no function over 80 lines in core/, cli/ and
plugins/, unless a comment `// Long because: <reason>` says why (for a file among its first 15 lines,
for a function in the comment right above it).

A function is what this code base's style makes one: a body whose `{` and `}` stand alone at the
start of a line (the return type and name on the lines before), not a struct, class, enum or namespace.
Usage: sizes.py <source dir>; prints each offender as path:line and exits 1 when there is one.
"""
import pathlib
import sys

MAX_FILE = 400
MAX_FUNCTION = 80
REASON = "// Long because:"
FOLDERS = ("core", "cli", "plugins")
NOT_FUNCTIONS = ("struct ", "class ", "enum ", "union ", "namespace ", "extern ")


def has_reason_above(lines, signature_start):
    """True when the comment block right above the signature gives a reason."""
    i = signature_start - 1
    while i >= 0 and lines[i].lstrip().startswith("//"):
        if lines[i].lstrip().startswith(REASON):
            return True
        i -= 1
    return False


def signature_start(lines, brace):
    """Index of the first line of the declaration whose body opens at `brace`."""
    i = brace - 1
    while i > 0 and lines[i - 1].strip() and not lines[i - 1].lstrip().startswith(("//", "}", "#")) \
            and not lines[i - 1].rstrip().endswith((";", "{")):
        i -= 1
    return i


def long_functions(lines):
    """(line number, length) of each function body over MAX_FUNCTION lines without a reason."""
    found = []
    for brace, line in enumerate(lines):
        if line.rstrip() != "{" or brace == 0:
            continue
        start = signature_start(lines, brace)
        if lines[start].lstrip().startswith(NOT_FUNCTIONS) or "=" in lines[brace - 1]:
            continue
        end = next((j for j in range(brace + 1, len(lines)) if lines[j].startswith("}")), len(lines) - 1)
        length = end - brace + 1
        if length > MAX_FUNCTION and not has_reason_above(lines, start):
            found.append((start + 1, length, lines[start + 1 if start + 1 < brace else start].strip()))
    return found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h") or not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
            rel = path.relative_to(root)
            if len(lines) > MAX_FILE and not any(l.startswith(REASON) for l in lines[:15]):
                problems.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE}); split it by topic, or say "
                                f"'{REASON} ...' among its first lines")
            for number, length, name in long_functions(lines):
                problems.append(f"{rel}:{number}: function '{name}' is {length} lines (at most {MAX_FUNCTION}); "
                                f"split it, or say '{REASON} ...' in the comment right above it")
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} source size problem(s)")
        return 1
    print("ok: no file over 400 lines, no function over 80 lines without a reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
