#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks docs/tools/doc-comments.py on a copy of the public headers: it changes comments only (the
code of every line stays as it was), it turns the file header into `/// \\file`, it leaves
`} // namespace x` alone, and a second run changes nothing.   Usage: doc_comments.py SOURCE_DIR"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    source = sys.argv[1]
    tool = os.path.join(source, "docs", "tools", "doc-comments.py")
    spec = importlib.util.spec_from_file_location("doc_comments", tool)
    dc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dc)
    headers = os.path.join(source, "core", "include", "spmi")
    failures = []
    with tempfile.TemporaryDirectory(prefix="spmi-doc-comments.") as tmp:
        copies = []
        for name in sorted(os.listdir(headers)):
            if name.endswith(".hpp"):
                shutil.copy(os.path.join(headers, name), tmp)
                copies.append(os.path.join(tmp, name))
        first = subprocess.run([sys.executable, tool] + copies, capture_output=True, text=True)
        if first.returncode != 0:
            failures.append(f"conversion failed: {first.stderr}")
        for path in copies:
            with open(os.path.join(headers, os.path.basename(path)), encoding="utf-8") as f:
                before = f.read().split("\n")
            with open(path, encoding="utf-8") as f:
                after = f.read().split("\n")
            if len(after) > 1 and after[1] == "/// \\file" and before[1] != after[1]:
                after = after[:1] + after[2:]
            elif len(before) > 1 and before[1].startswith("//") and before[1] != "/// \\file":
                failures.append(f"{os.path.basename(path)}: the file comment did not become '/// \\file'")
            if len(before) != len(after):
                failures.append(f"{os.path.basename(path)}: {len(before)} lines became {len(after)}")
                continue
            for n, (b, a) in enumerate(zip(before, after), start=1):
                if dc.split_code_comment(b)[0].rstrip() != dc.split_code_comment(a)[0].rstrip():
                    failures.append(f"{os.path.basename(path)}:{n}: code changed: {b!r} -> {a!r}")
            for n, a in enumerate(after, start=1):
                if a.lstrip().startswith("}") and "///<" in a:
                    failures.append(f"{os.path.basename(path)}:{n}: a closing brace got a member comment: {a!r}")
            if not any(line.lstrip().startswith("///") for line in after):
                failures.append(f"{os.path.basename(path)}: no comment was converted")
        second = subprocess.run([sys.executable, tool, "--check"] + copies, capture_output=True, text=True)
        if second.returncode != 0:
            failures.append(f"a second run would change the files again:\n{second.stdout}")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(f"doc-comments: {len(copies)} headers, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
