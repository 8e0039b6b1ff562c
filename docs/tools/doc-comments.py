#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Converts the `//` comments of spmi's public headers into Doxygen comments, mechanically.

    python3 docs/tools/doc-comments.py [--check] FILE...

- the comment block between the SPDX line and `#pragma once` becomes the file's documentation
  (`/// \\file` then `///` lines);
- a block of `//` lines directly above a declaration at namespace, class or enum scope becomes `///`
  (a block followed by a blank line, an #include/#if, an access specifier or a closing brace is left
  alone: it is not about one declaration);
- a trailing `// text` after a declaration at those scopes becomes `///< text`, and a comment-only line
  that continues it (its `//` in the same column) too; one after a closing brace (`} // namespace x`)
  is left alone;
- the SPDX line, `#pragma`, comments inside function bodies and inside multi-line macros are left alone;
  comments that already are Doxygen comments (`///`, `//!`, `/** */`) are kept as they are.

Writes the files in place and prints how many comments it changed; with --check it changes nothing and
exits 1 when some file would change. Running it twice changes nothing the second time.
"""
import re
import sys

SCOPE_WORDS = re.compile(r"^\s*(?:template\s*<.*>\s*)?(?:namespace|class|struct|enum|union|extern\s+\"C\")\b")
PREPROCESSOR_NOT_DEFINE = re.compile(r"^\s*#\s*(?:include|pragma|if|ifdef|ifndef|else|elif|endif|undef|error)\b")
ACCESS = re.compile(r"^\s*(?:public|private|protected)\s*:")
PLAIN_COMMENT = re.compile(r"^(\s*)//(?![/!])(.*)$")


def split_code_comment(line):
    """(code, comment_column) for a line with a trailing `//` comment outside strings, else (line, -1)."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            # A digit separator (1'000) is not a quote.
            if c == "'" and i > 0 and line[i - 1].isalnum() and i + 1 < len(line) and line[i + 1].isalnum():
                pass
            else:
                quote = c
        elif line.startswith("//", i):
            return line[:i], i
        i += 1
    return line, -1


def code_chars(code):
    """The characters of code outside string and character literals (literals read as spaces)."""
    quote = None
    i = 0
    while i < len(code):
        c = code[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
            yield " "
        elif c == '"' or (c == "'" and not (i > 0 and code[i - 1].isalnum())):
            quote = c
            yield " "
        else:
            yield c
        i += 1


TAG_LIKE = re.compile(r"<([a-z_][a-z0-9_]*)>")


def escape_tags(body):
    """`<id>` outside `code spans` reads as an HTML tag to Doxygen: escape it as `\\<id\\>`."""
    parts = body.split("`")
    for n in range(0, len(parts), 2):
        parts[n] = TAG_LIKE.sub(r"\\<\1\\>", parts[n])
    return "`".join(parts)


def convert(text):
    lines = text.split("\n")
    out = []
    changed = 0
    i = 0
    # File header: the comment lines after the SPDX line.
    if lines and "SPDX-License-Identifier" in lines[0]:
        out.append(lines[0])
        i = 1
        block = []
        while i < len(lines) and PLAIN_COMMENT.match(lines[i]) and not lines[i].startswith("///"):
            block.append(PLAIN_COMMENT.match(lines[i]).group(2))
            i += 1
        if block:
            out.append("/// \\file")
            out.extend("///" + escape_tags(body) for body in block)
            changed += 1

    stack = []         # one entry per open brace: True for a scope (namespace/class/enum), False for a body
    statement = ""     # code since the last ; { or }, to classify the next brace
    in_macro = False   # inside a multi-line #define
    last_trailing_col = -1

    def at_scope():
        return all(stack)

    while i < len(lines):
        line = lines[i]
        if in_macro:
            out.append(line)
            in_macro = line.rstrip().endswith("\\")
            i += 1
            continue
        m = PLAIN_COMMENT.match(line)
        if m and line.lstrip().startswith("//"):
            # A comment-only line continuing a trailing comment above it.
            if last_trailing_col >= 0 and len(m.group(1)) == last_trailing_col and at_scope():
                out.append(m.group(1) + "///<" + escape_tags(m.group(2)))
                changed += 1
                i += 1
                continue
            last_trailing_col = -1
            j = i
            while j < len(lines) and PLAIN_COMMENT.match(lines[j]) and lines[j].lstrip().startswith("//"):
                j += 1
            following = lines[j] if j < len(lines) else ""
            documents = (at_scope() and following.strip() != "" and not PREPROCESSOR_NOT_DEFINE.match(following)
                         and not ACCESS.match(following) and not following.strip().startswith("}")
                         and not following.lstrip().startswith("///"))
            for k in range(i, j):
                mk = PLAIN_COMMENT.match(lines[k])
                if documents and "SPDX-License-Identifier" not in lines[k]:
                    out.append(mk.group(1) + "///" + escape_tags(mk.group(2)))
                else:
                    out.append(lines[k])
            if documents:
                changed += 1
            i = j
            continue

        code, col = split_code_comment(line)
        stripped = code.strip()
        if stripped.startswith("#"):
            out.append(line)
            in_macro = stripped.startswith("#define") and line.rstrip().endswith("\\")
            last_trailing_col = -1
            i += 1
            continue
        scope_before = at_scope()
        for ch in code_chars(code):
            if ch == "{":
                stack.append(bool(SCOPE_WORDS.match(statement)))
                statement = ""
            elif ch == "}":
                if stack:
                    stack.pop()
                statement = ""
            elif ch == ";":
                statement = ""
            else:
                statement += ch
        statement += " "
        # A comment after a closing brace (`} // namespace spmi`) is about the scope, not a declaration.
        if (col >= 0 and stripped and scope_before and not stripped.startswith("}")
                and not line[col:].startswith(("///", "//!"))):
            out.append(code + "///<" + escape_tags(line[col + 2:]))
            changed += 1
            last_trailing_col = col
        else:
            out.append(line)
            last_trailing_col = -1
        i += 1
    return "\n".join(out), changed


def main(argv):
    check = "--check" in argv
    files = [a for a in argv if a != "--check"]
    if not files:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    would_change = False
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new, changed = convert(text)
        if new != text:
            would_change = True
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
        print(f"{path}: {changed} comment(s) {'to convert' if check else 'converted'}")
    return 1 if check and would_change else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
