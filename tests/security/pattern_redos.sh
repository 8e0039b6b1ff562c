#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attack: a pattern that backtracks exponentially. With std::regex, `spmi status '(a|a)*b'` on one
# 28-character ID took 12 s (and a longer ID, hours): anyone who can pass a pattern to a script that runs
# spmi stalls it. Patterns are RE2 now, linear in the ID; the whole ID must still match; what RE2 can't
# do (backreferences, lookaround) is a clear usage error.
source "$(dirname "$0")/common.sh"


long=aaaaaaaaaaaaaaaaaaaaaaaaaaaa  # 28 characters
[ ${#long} = 28 ] || fail "test setup: the ID is ${#long} characters"
task_toml a.toml "$long" 'sleep 1' local
task_toml b.toml "${long:1}b" 'sleep 1' local
run 0 load a.toml b.toml

# timed RC ARGS...: spmi ARGS exits RC within the budget.
timed() {
  local want=$1; shift
  timed_spmi "$T/out" "$@"
  [ "$rc" = "$want" ] || fail "spmi $* exited $rc, expected $want (after ${wall} ms)"
  [ "$cpu" -lt "$budget_ms" ] || fail "spmi $* used ${cpu} ms of CPU (budget ${budget_ms} ms)"
  pass "spmi $* -> $rc, ${cpu} ms of CPU (${wall} ms)"
}

# '(a|a)*b' matches the second ID only; '(a|a)*c' matches nothing; both answer at once.
timed 0 status '(a|a)*b'
out_has "${long:1}b (task)"
out_lacks "$long (task)"
timed 1 status '(a|a)*c'
err_has "no loaded manageable matches '(a|a)*c'"
timed 1 stop '(a|a)*c'
timed 1 kill '(a*)*c'
timed 1 restart --dry-run '(a|aa)*c'
timed 1 clean '(a|a)*c'
timed 1 stop --dry-run '(a|a)*'
out_has "would not stop $long"

# Whole-ID semantics: a pattern that matches only part of an ID selects nothing.
timed 1 status 'a{5}'
err_has "no loaded manageable matches 'a{5}'"
timed 0 status 'a+'
out_has "$long (task)"
out_lacks "${long:1}b (task)"

# What RE2 does not do is a usage error (exit 2) naming the pattern and the reason.
timed 2 status '(a)\1'
err_has "invalid pattern '(a)\\1': backreferences (\\1) are not supported"
err_has "RE2"
timed 2 stop '(?=a).*'
err_has "invalid pattern '(?=a).*': lookahead and lookbehind"
timed 2 status 'a('
err_has "invalid pattern 'a('"
run 0 list
err_has "Registered 2 manageables"
echo "pattern_redos: all passed"
