#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the examples of the user guide (docs/**/*.md) against the built spmi.

Conventions in the Markdown (see docs/README.md, "Examples in this guide"):

- ```toml file=NAME.toml   (or yaml / json): a whole descriptor. It is loaded with `spmi load` into a
  private $SPMI_PATH of its own and must load (exit 0, no WARNING); marked `invalid` it must be
  refused (exit 3), marked `warns` it must load with a warning. Its NAME's extension must match the
  block's language. It is also written to the working directory of its Markdown file, so the commands
  of that file can load it.
- ```toml fragment: part of a descriptor, not loadable alone; not checked. A toml/yaml/json block with
  neither marker fails the test, so no descriptor example goes unchecked by accident.
- ```console check [exit=N]: lines starting with "$ " are commands, run with bash in order, the lines
  after each are its output (stdout and stderr together). Each command must exit N (default 0) and its
  output must have the shape shown: equal after volatile parts (times, durations, PIDs, paths, the
  output of date(1)) are replaced by placeholders. A plain ```console block is not run.
- <!-- check: SHELL --> on a line of its own: run before the next block, e.g. `wait_inactive hello`
  (helpers: wait_active ID, wait_inactive ID, wait_output ID TEXT), not shown by Markdown renderers.

The commands of one Markdown file share one working directory and one $SPMI_PATH, in file order.
Usage: examples.py DOCS_DIR   (SPMI names the spmi binary). Exit 0 when every example holds.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\S*)\s*(.*)$")
DIRECTIVE = re.compile(r"^<!--\s*check:\s*(.*?)\s*-->\s*$")
LANG_EXT = {"toml": (".toml",), "yaml": (".yaml", ".yml"), "json": (".json",)}

HELPERS = r"""
spmi() { "$SPMI_DOCS_BINARY" "$@"; }  # so that `PATH=/nowhere spmi ...` still finds spmi
_wait() { local i; for i in $(seq 1 200); do "$@" && return 0; sleep 0.05; done; echo "check: timed out: $*" >&2; return 1; }
wait_active() { _wait sh -c "spmi list 2>/dev/null | grep -qE '^$1 +active'"; }
wait_inactive() { _wait sh -c "spmi list 2>/dev/null | grep -qE '^$1 +inactive'"; }
wait_output() { _wait grep -qF -- "$2" "$SPMI_PATH/$1/stdout"; }
"""

# Volatile parts of spmi's output, replaced by placeholders in both the shown and the real output.
NORMALISE = [
    (re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - Spmi - "), "[<TIME> - Spmi - "),
    (re.compile(r" since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \([^)]*ago\)"), " since <TIME> (<DELTA> ago)"),
    (re.compile(r"^(Backend ID|PID): \d+$"), r"\1: <N>"),
    # The restart policy's times: "Restarts: 1 (last exit: 3 at DATE TIME)", "Next attempt: DATE TIME (in DELTA)".
    (re.compile(r" at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)"), " at <TIME>)"),
    (re.compile(r"^Next attempt: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in [^)]*\)$"), "Next attempt: <TIME> (in <DELTA>)"),
    (re.compile(r'^Path: ".*/([^/"]+)"$'), r'Path: "<SPMI_PATH>/\1"'),
    (re.compile(r"\(searched [^)]*\)"), "(searched <DIRS>)"),
    (re.compile(r"\(from [^)]*/([^/)]+)\)"), r"(from <DIR>/\1)"),
    # date(1): "Wed Nov 25 16:40:02 UTC 2026"
    (re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [A-Z]+ \d{4}$"), "<DATE>"),
    (re.compile(r"^spmi \d+\.\d+\.\d+$"), "spmi <VERSION>"),
    (re.compile(r"^spmi top - \d\d:\d\d:\d\d "), "spmi top - <TIME> "),
    (re.compile(r"\bpid \d+"), "pid <N>"),
    # Where `spmi load` ran and what its environment held differ from machine to machine.
    (re.compile(r"^Working directory: /.* \((the descriptor's cwd|where `spmi load` ran)\)$"), r"Working directory: <DIR> (\1)"),
    (re.compile(r"captured by `spmi load` at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+ variables\)"),
     "captured by `spmi load` at <TIME> (<N> variables)"),
    (re.compile(r"^Descriptor: reloaded at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), "Descriptor: reloaded at <TIME>"),
    # Which membership a run uses depends on the host (cgroup v2 or not, root or not).
    (re.compile(r"^Membership: .*$"), "Membership: <MEMBERSHIP>"),
    # Resource use of a running task (list columns CPU MEM UPTIME, status "Resources:").
    (re.compile(r"^Resources: CPU \d+\.\d%, memory [\d.]+[BKMGT], \d+ process(es)?$"),
     "Resources: CPU <CPU>, memory <MEM>, <N> processes"),
    (re.compile(r"(?<= )\d+\.\d% +[\d.]+[BKMGT] +\d+[smhd](?= )"), "<CPU> <MEM> <UPTIME>"),
    # Column widths follow the longest ID and the values above: compare the words, not the spacing.
    (re.compile(r"  +"), " "),
]


def normalise(text):
    lines = []
    for line in text.rstrip("\n").split("\n"):
        line = line.rstrip()
        for pattern, replacement in NORMALISE:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return lines


class Block:
    def __init__(self, path, line, lang, info, body, before):
        self.path, self.line, self.lang, self.body, self.before = path, line, lang, body, before
        self.attrs = {}
        self.flags = set()
        for word in info.split():
            if "=" in word:
                key, value = word.split("=", 1)
                self.attrs[key] = value
            else:
                self.flags.add(word)

    def where(self):
        return f"{self.path}:{self.line}"


def blocks_of(path):
    result = []
    pending = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = DIRECTIVE.match(lines[i])
        if m:
            pending.append(m.group(1))
            i += 1
            continue
        m = FENCE.match(lines[i])
        if m:
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            result.append(Block(path, i + 1, m.group(1), m.group(2), "\n".join(lines[start:j]) + "\n", pending))
            pending = []
            i = j + 1
            continue
        i += 1
    return result


def run(command, cwd, env):
    return subprocess.run(["bash", "-c", HELPERS + command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    docs = os.path.abspath(sys.argv[1])
    spmi = os.environ.get("SPMI")
    if not spmi:
        print("SPMI must name the spmi binary", file=sys.stderr)
        return 2
    top = tempfile.mkdtemp(prefix="spmi-docs.")
    bindir = os.path.join(top, "bin")
    os.mkdir(bindir)
    os.symlink(os.path.abspath(spmi), os.path.join(bindir, "spmi"))
    base_env = dict(os.environ)
    base_env.pop("SPMI_PLUGIN_PATH", None)
    base_env["PATH"] = bindir + ":" + base_env.get("PATH", "/usr/bin:/bin")
    base_env["TZ"] = base_env.get("TZ", "UTC")
    # As on a user's machine: the guide's Python example shows that spmi, not the caller, unbuffers it.
    base_env.pop("PYTHONUNBUFFERED", None)
    base_env["SPMI_DOCS_BINARY"] = os.path.abspath(spmi)
    failures = []
    counts = {"descriptors": 0, "commands": 0}
    state_dirs = []

    def fail(block, message):
        failures.append(f"{block.where()}: {message}")

    try:
        markdown = sorted(os.path.join(d, f) for d, _, fs in os.walk(docs) for f in fs if f.endswith(".md"))
        for n, path in enumerate(markdown):
            blocks = blocks_of(path)
            work = os.path.join(top, f"doc{n}")
            os.mkdir(work)
            env = dict(base_env, SPMI_PATH=os.path.join(work, ".spmi"))
            state_dirs.append(env)
            # Descriptors first: every one must load on its own, and commands of the file may use them.
            for b in blocks:
                if b.lang not in LANG_EXT:
                    continue
                if "fragment" in b.flags:
                    continue
                name = b.attrs.get("file")
                if not name:
                    fail(b, f"```{b.lang} block is neither a descriptor (file=NAME) nor marked 'fragment'")
                    continue
                if not name.endswith(LANG_EXT[b.lang]) or "/" in name:
                    fail(b, f"file={name}: give a plain file name ending in {' or '.join(LANG_EXT[b.lang])}")
                    continue
                target = os.path.join(work, name)
                if os.path.exists(target):
                    with open(target, encoding="utf-8") as f:
                        if f.read() != b.body:
                            fail(b, f"file={name} is shown twice with different contents in {path}")
                            continue
                with open(target, "w", encoding="utf-8") as f:
                    f.write(b.body)
                scratch = tempfile.mkdtemp(prefix="load.", dir=top)
                r = run(f"spmi load {name}", work, dict(base_env, SPMI_PATH=os.path.join(scratch, "state")))
                counts["descriptors"] += 1
                warned = " - WARNING]" in r.stdout
                if "invalid" in b.flags:
                    if r.returncode != 3:
                        fail(b, f"descriptor {name} is shown as invalid but 'spmi load' exited {r.returncode} "
                                f"(not 3):\n{r.stdout}")
                elif "warns" in b.flags:
                    if r.returncode != 0 or not warned:
                        fail(b, f"descriptor {name} should load with a warning (exit {r.returncode}):\n{r.stdout}")
                elif r.returncode != 0 or warned:
                    fail(b, f"descriptor {name} does not load cleanly (exit {r.returncode}):\n{r.stdout}")
            # Then the checked commands, in order.
            for b in blocks:
                if b.lang != "console" or "check" not in b.flags:
                    continue
                for directive in b.before:
                    r = run(directive, work, env)
                    if r.returncode != 0:
                        fail(b, f"setup '{directive}' failed (exit {r.returncode}):\n{r.stdout}")
                want_rc = int(b.attrs.get("exit", "0"))
                steps = []
                for line in b.body.rstrip("\n").split("\n"):
                    if line.startswith("$ "):
                        steps.append([line[2:], []])
                    elif steps:
                        steps[-1][1].append(line)
                    elif line.strip():
                        fail(b, f"output before the first '$ ' command: {line}")
                for command, shown in steps:
                    counts["commands"] += 1
                    r = run(command, work, env)
                    if r.returncode != want_rc:
                        fail(b, f"'{command}' exited {r.returncode}, the guide says {want_rc}:\n{r.stdout}")
                        continue
                    want = normalise("\n".join(shown))
                    got = normalise(r.stdout)
                    if want != got:
                        diff = "\n".join(f"  shown: {w!r}\n  real:  {g!r}" for w, g in
                                         zip(want + [""] * (len(got) - len(want)), got + [""] * (len(want) - len(got)))
                                         if w != g)
                        fail(b, f"output of '{command}' no longer has the shape shown:\n{diff}\n--- real output:\n{r.stdout}")
    finally:
        for env in state_dirs:
            if os.path.isdir(env["SPMI_PATH"]):
                subprocess.run([spmi, "kill", ".*"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(top, ignore_errors=True)

    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(f"docs examples: {counts['descriptors']} descriptors loaded, {counts['commands']} commands run, "
          f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
