#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shell completion (bash driven through COMP_WORDS; zsh parsed, registered by compinit, IDs listed) and
# the man page (groff -ww clean, man -l renders), all installed by `cmake --install`.
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?}"

# cmake --install puts the three files where bash-completion, zsh and man look.
prefix="$T/prefix"
cmake --install "$SPMI_BUILD_DIR" --prefix "$prefix" >install.log 2>&1 || { cat install.log >&2; fail "cmake --install"; }
for f in share/bash-completion/completions/spmi share/zsh/vendor-completions/_spmi share/man/man1/spmi.1; do
  [ -s "$prefix/$f" ] || fail "cmake --install did not install $f"
done
pass "cmake --install installs completions and the man page"

task_toml a.toml web_1 'sleep 100' local
task_toml b.toml worker 'sleep 100' local
run 0 load a.toml b.toml

# --- bash ---
# complete_bash WORDS...: COMPREPLY for the last word, one per line.
complete_bash() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _spmi; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$prefix/share/bash-completion/completions/spmi" "$@"
}
got=$(complete_bash spmi '')
for c in list load run reload start stop kill clean restart status logs top wait connect resurrect startup; do
  grep -qx "$c" <<<"$got" || fail "bash: command $c not offered"
done
[ "$(complete_bash spmi top --sort c)" = cpu ] || fail "bash: top --sort values"
[ "$(complete_bash spmi top wo)" = worker ] || fail "bash: top ID"
[ "$(complete_bash spmi re)" = "$(printf 'reload\nrestart\nresurrect')" ] || fail "bash: 're' does not offer reload, restart and resurrect"
grep -qx -- --replace <<<"$(complete_bash spmi load --)" || fail "bash: load --replace"
grep -qx -- --dry-run <<<"$(complete_bash spmi reload --)" || fail "bash: reload --dry-run"
[ "$(complete_bash spmi rest)" = restart ] || fail "bash: 'rest' does not complete to restart"
grep -qx -- --uninstall <<<"$(complete_bash spmi startup --)" || fail "bash: startup --uninstall"
[ "$(complete_bash spmi startup --method '')" = "$(printf 'systemd\ncron')" ] || fail "bash: startup --method values"
got=$(complete_bash spmi start '')
grep -qx web_1 <<<"$got" && grep -qx worker <<<"$got" || fail "bash: loaded IDs not offered after start: $got"
[ "$(complete_bash spmi stop w)" = "$(printf 'web_1\nworker')" ] || fail "bash: IDs by prefix"
[ "$(complete_bash spmi logs wo)" = worker ] || fail "bash: logs ID"
grep -qx -- --dry-run <<<"$(complete_bash spmi restart --)" || fail "bash: restart --dry-run"
grep -qx -- --until <<<"$(complete_bash spmi connect --)" || fail "bash: connect --until"
grep -qx -- --no-history <<<"$(complete_bash spmi connect --)" || fail "bash: connect --no-history"
[ "$(complete_bash spmi list wo)" = worker ] || fail "bash: list ID"
[ -z "$(complete_bash spmi connect --timeout '')" ] || fail "bash: connect --timeout takes a number"

grep -qx -- --json <<<"$(complete_bash spmi list --)" || fail "bash: list --json"
grep -qx -- --strict <<<"$(complete_bash spmi load --)" || fail "bash: load --strict"
grep -qx -- --timeout <<<"$(complete_bash spmi wait --)" || fail "bash: wait --timeout"
[ "$(complete_bash spmi wait wo)" = worker ] || fail "bash: wait ID"
grep -qx -- --follow <<<"$(complete_bash spmi logs -)" || fail "bash: logs --follow"
grep -qx -- --no-color <<<"$(complete_bash spmi --)" || fail "bash: --no-color"
grep -qx worker <<<"$(complete_bash spmi list '')" || fail "bash: list takes patterns: IDs offered"
grep -qx -- --detach <<<"$(complete_bash spmi run --)" || fail "bash: run --detach"
[ "$(complete_bash spmi run --restart on)" = on-failure ] || fail "bash: run --restart values"
grep -qx -- --dry-run <<<"$(complete_bash spmi load --)" || fail "bash: load --dry-run"
pass "bash completion: commands, options, IDs"

# --- zsh ---
if command -v zsh >/dev/null; then
  zsh -n "$prefix/share/zsh/vendor-completions/_spmi" || fail "zsh: syntax"
  # compinit picks the function up for the spmi command.
  got=$(zsh -fc 'fpath=("$1" $fpath); autoload -U compinit; compinit -u -d "$2/zcompdump"; print -r -- $_comps[spmi]' \
    _ "$prefix/share/zsh/vendor-completions" "$T")
  [ "$got" = _spmi ] || fail "zsh: compinit does not register _spmi ($got)"
  # Its ID lookup lists the loaded manageables (_describe stubbed to print its candidates).
  got=$(zsh -fc 'source <(sed "\$d" "$1"); _describe() { print -l -- ${(P)${@[-1]}}; }; _spmi_ids' \
    _ "$prefix/share/zsh/vendor-completions/_spmi")
  [ "$got" = "$(printf 'web_1\nworker')" ] || fail "zsh: IDs: $got"
  # A real interactive zsh (zpty) completes a command and a loaded ID on Tab. zpty -r waits for the
  # pattern; timeout bounds the whole exchange.
  cat >zpty.zsh <<'ZSH'
zmodload zsh/zpty || exit 77
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=($1 \$fpath); autoload -U compinit; compinit -u -d $2/zcd2"
zpty -w z "spmi rest"$'\t'
zpty -r z out '*restart*' || exit 1
zpty -w z $'\n'
zpty -w z "spmi stop wor"$'\t'
zpty -r z out '*worker*' || exit 2
zpty -d z
print completed
ZSH
  got=$(timeout 20 zsh -f zpty.zsh "$prefix/share/zsh/vendor-completions" "$T" 2>&1) || true
  [ "$(tail -1 <<<"$got")" = completed ] || fail "zsh: interactive completion of 'res' and 'wor' failed: $got"
  pass "zsh completion: parses, registers with compinit, lists IDs, completes interactively"
fi

# --- man page ---
need groff
warnings=$(groff -man -ww -z "$prefix/share/man/man1/spmi.1" 2>&1)
[ -z "$warnings" ] || fail "groff warnings: $warnings"
if command -v man >/dev/null; then
  page=$(MANWIDTH=80 man -l "$prefix/share/man/man1/spmi.1" 2>/dev/null | col -b)
  for word in NAME SYNOPSIS restart resurrect startup logs wait --detach SPMI_MATRIX_ matrix --timeout --strict SPMI_STRICT --dry-run --json NO_COLOR "EXIT STATUS"; do
    grep -qF -- "$word" <<<"$page" || fail "man page lacks $word"
  done
fi
pass "man page spmi(1)"
echo "completion_man: all passed"
