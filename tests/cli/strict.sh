#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Strict descriptors (local backend; strict_screen.sh: screen): a misspelt key gets a "did you mean"
# naming file and key; `load --strict` and SPMI_STRICT=1 refuse unknown keys (exit 3, every one named,
# nothing loaded), also in a plugin's own table (the backend's); a correct descriptor loads strictly.
# Sizes follow one grammar, and a refusal says the accepted forms, the minimum or what was meant.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

none_loaded() { run 0 list --json; grep -q '"manageables": \[\]' "$T/out" || fail "something was loaded: $(cat "$T/out")"; }

task_toml typo.toml typo "exit 0" "$BACKEND" 'restrat = "always"'
run 0 load typo.toml
err_has "typo.toml: task.wrapper.restrat: ignoring unknown key 'restrat'; did you mean 'restart'?"
run 0 clean typo
pass "an unknown key loads with a warning naming file, key and the key meant"

run 3 load --strict typo.toml
err_has "typo.toml: task.wrapper.restrat: unknown key 'restrat' (refused: strict loading); did you mean 'restart'?"
err_has "nothing was loaded: 1 of 1 descriptor is invalid"
none_loaded
pass "load --strict refuses it, exit 3, nothing loaded"

for value in 1 true YES on; do
  SPMI_STRICT=$value run 3 load typo.toml
  err_has "task.wrapper.restrat: unknown key 'restrat' (refused: strict loading)"
done
none_loaded
SPMI_STRICT=maybe run 2 load typo.toml
err_has "SPMI_STRICT='maybe' is not understood; set it to 1"
none_loaded
SPMI_STRICT=0 run 0 load typo.toml
err_has "ignoring unknown key 'restrat'"
run 0 clean typo
pass "SPMI_STRICT=1/true/yes/on is strict, 0 is not, anything else is refused"

# Every unknown key of every file is named, the backend's own table included; the good file is not
# loaded either.
{
  printf '[task]\nid = "many"\ncomand = "x"\n[task.backend]\ntype = "%s"\nspeed = 3\n' "$BACKEND"
  printf '[task.wrapper]\ntype = "default"\ncommand = "true"\nstop_sginal = "TERM"\n'
} >many.toml
task_toml other.toml other "true" "$BACKEND" 'max_restart = 3'
task_toml good.toml good "exec sleep 1301.$TAG" "$BACKEND" 'restart = "on-failure"' 'max_output_size = "10M"'
run 3 load --strict many.toml other.toml good.toml
err_has "many.toml: task.comand: unknown key 'comand' (refused: strict loading); remove it"
err_has "many.toml: task.backend.speed: unknown key 'speed' (refused: strict loading); remove it"
err_has "many.toml: task.wrapper.stop_sginal: unknown key 'stop_sginal' (refused: strict loading); did you mean 'stop_signal'?"
err_has "other.toml: task.wrapper.max_restart: unknown key 'max_restart' (refused: strict loading); did you mean 'max_restarts'?"
err_has "nothing was loaded: 2 of 3 descriptors are invalid"
none_loaded
pass "every unknown key named, in every table and file"

run 0 load --strict good.toml
out_lacks "unknown"
run 0 start good
is_active good || fail "good is not active"
run 0 stop good
run 0 clean good
pass "a correct descriptor loads with --strict and runs"

run 0 load good.toml
task_toml good.toml good "exec sleep 1302.$TAG" "$BACKEND" 'restrat = "on-failure"'
run 3 reload --strict good
err_has "good.toml: task.wrapper.restrat: unknown key 'restrat' (refused: strict loading); did you mean 'restart'?"
grep -q "1301" "$SPMI_PATH/good/manageable.json" || fail "reload --strict changed the descriptor it refused"
SPMI_STRICT=1 run 3 reload good
run 0 reload good
err_has "ignoring unknown key 'restrat'; did you mean 'restart'?"
grep -q "1302" "$SPMI_PATH/good/manageable.json" || fail "reload did not take the new descriptor"
run 0 clean good
pass "reload --strict (and SPMI_STRICT=1) refuses an unknown key and changes nothing; plain reload warns"

# Sizes: one grammar, and messages that say what is accepted, the minimum, or what was meant.
forms='use a whole number of bytes, or a whole number with one of the units B, K, M, G, T, KiB, MiB, GiB, TiB (powers of 1024, written so, no space), e.g. "10M" or "512KiB", or 0 for no limit'
size_refused() {
  task_toml size.toml size "true" "$BACKEND" "max_output_size = $1"
  run 3 load size.toml
  err_has "size.toml: task.wrapper.max_output_size: $2"
}
size_refused 100 "100 is below the minimum, 1KiB; use at least 1KiB, or 0 for no limit"
size_refused '"512B"' "'512B' is below the minimum, 1KiB; use at least 1KiB, or 0 for no limit"
size_refused '"10MB"' "'10MB' is not a size; $forms; did you mean '10M'?"
size_refused '"10m"' "'10m' is not a size; $forms; did you mean '10M'?"
size_refused '"10 M"' "'10 M' is not a size; $forms; did you mean '10M'?"
size_refused '"1.5G"' "'1.5G' is not a size; $forms; did you mean '1536M'?"
size_refused '"10X"' "'10X' is not a size; $forms"
none_loaded
for size in 1024 '"1K"' '"10M"' '"10MiB"' '"2G"' '"1T"' '"4096B"' 0 '"0"'; do
  task_toml size.toml size "true" "$BACKEND" "max_output_size = $size"
  run 0 load --strict size.toml
  run 0 clean size
done
pass "sizes: the grammar's forms load, others are refused with the forms, the minimum or the size meant"
echo "strict ($BACKEND): all passed"
