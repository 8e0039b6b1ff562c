#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Several manageables per descriptor file and sweeps (local backend; sweep_screen.sh: screen):
# TOML [[task]], a YAML sequence, a JSON array, loaded all or nothing with errors naming file, entry and
# key; duplicate IDs within and across files refused naming both; a matrix expanded (product, exclude,
# include) with IDs from the values, values in the command (quoted: a value with `;` is one literal
# argument) and as SPMI_MATRIX_<NAME>; the bound of 10,000; load --dry-run (also with --replace)
# changing nothing; reload of one entry; load --replace of such a file.
source "$(dirname "$0")/common.sh"
BACKEND=${BACKEND:-local}

entry() {  # entry ID COMMAND: one [[task]] of a TOML array of tables
  printf '[[task]]\nid = "%s"\n[task.backend]\ntype = "%s"\n[task.wrapper]\ntype = "default"\ncommand = "%s"\n\n' "$1" "$BACKEND" "$2"
}
{ entry t-a "echo a"; entry t-b "echo b"; entry t-c "echo c"; } >three.toml
cat >two.yaml <<Y
- task:
    id: y-a
    backend: {type: $BACKEND}
    wrapper: {type: default, command: echo ya}
- task:
    id: y-b
    backend: {type: $BACKEND}
    wrapper: {type: default, command: echo yb}
Y
cat >two.json <<J
[{"task": {"id": "j-a", "backend": {"type": "$BACKEND"}, "wrapper": {"type": "default", "command": "echo ja"}}},
 {"task": {"id": "j-b", "backend": {"type": "$BACKEND"}, "wrapper": {"type": "default", "command": "echo jb"}}}]
J
run 0 load three.toml two.yaml two.json
err_has "Loaded 7 manageables"
run 0 start 't-.*' 'y-.*' 'j-.*'
run 0 wait 't-.*' 'y-.*' 'j-.*'
wait_for 5 grep -q yb "$SPMI_PATH/y-b/stdout" || fail "y-b did not run its own command"
grep -q ja "$SPMI_PATH/j-a/stdout" || fail "j-a did not run its own command"
pass "TOML [[task]], a YAML sequence and a JSON array each load several manageables, each its own task"

{ entry b-a "echo a"; printf '[[task]]\nid = "b-b"\n[task.backend]\ntype = "%s"\n[task.wrapper]\ntype = "default"\n\n' "$BACKEND"; entry b-c "echo c"; } >bad.toml
run 3 load bad.toml
err_has "bad.toml: task[1].wrapper: missing key 'command'"
run 0 list
out_lacks b-a
pass "one bad entry refuses the whole file, naming file, entry and key (task[1].wrapper)"

{ entry d-a "echo a"; entry d-b "echo b"; entry d-a "echo again"; } >dup.toml
run 3 load dup.toml
err_has "dup.toml: task[2].id: 'd-a' is also the ID of task[0]"
{ entry x-a "echo a"; } >x1.toml
{ entry x-b "echo b"; entry x-a "echo a"; } >x2.toml
run 3 load x1.toml x2.toml
err_has "x2.toml: task[1].id: 'x-a' is also the ID of task[0] in x1.toml"
run 0 list
out_lacks x-a
pass "duplicate IDs within a file and across files are refused, naming both"

cat >sweep.toml <<EOT
[task]
id = "sim-lr{lr}-s{seed}"
comment = "lr {lr}, seed {seed}"
matrix = { lr = [0.1, 0.01], seed = [1, 2, 3], exclude = [{ lr = 0.01, seed = 3 }], include = [{ lr = 0.5, seed = 9 }] }
[task.backend]
type = "$BACKEND"
[task.wrapper]
type = "default"
command = 'echo "lr={lr} seed={seed} env=\$SPMI_MATRIX_LR/\$SPMI_MATRIX_SEED" \${HOME:+home}'
EOT
run 0 load --dry-run sweep.toml
for id in sim-lr0.1-s1 sim-lr0.1-s2 sim-lr0.1-s3 sim-lr0.01-s1 sim-lr0.01-s2 sim-lr0.5-s9; do
  out_has "would load $id (from sweep.toml; lr="
done
out_lacks sim-lr0.01-s3
out_has 'wrapper.command: echo "lr=0.1 seed=1 env=$SPMI_MATRIX_LR/$SPMI_MATRIX_SEED" ${HOME:+home}'
err_has "Dry run: 6 manageables, nothing was changed"
[ ! -d "$SPMI_PATH/sim-lr0.1-s1" ] || fail "load --dry-run loaded something"
pass "load --dry-run: the 6 combinations (exclude removed one, include added one), their commands, nothing loaded"

run 0 load sweep.toml
run 0 start 'sim-.*'
run 0 wait 'sim-.*'
wait_for 5 grep -q . "$SPMI_PATH/sim-lr0.01-s2/stdout" || fail "no output"
grep -qx "lr=0.01 seed=2 env=0.01/2 home" "$SPMI_PATH/sim-lr0.01-s2/stdout" || fail "sim-lr0.01-s2: $(cat "$SPMI_PATH/sim-lr0.01-s2/stdout")"
grep -qx "lr=0.5 seed=9 env=0.5/9 home" "$SPMI_PATH/sim-lr0.5-s9/stdout" || fail "sim-lr0.5-s9: $(cat "$SPMI_PATH/sim-lr0.5-s9/stdout")"
run 0 status sim-lr0.1-s3
out_has "lr 0.1, seed 3"
pass "a matrix makes one task per combination: values in the command, as SPMI_MATRIX_*; \${HOME} left to the shell"

cat >quote.toml <<EOT
[task]
id = "q-{n}"
matrix = { include = [{ n = 1, word = "a; touch $T/pwned" }, { n = 2, word = "it's \"x\" \$(touch $T/pwned2) \`id\`" }, { n = 3, word = "" }] }
[task.backend]
type = "$BACKEND"
[task.wrapper]
type = "default"
command = "printf '<%s>\\\\n' {word} \"\$SPMI_MATRIX_WORD\""
EOT
run 0 load quote.toml
run 0 start 'q-.*'
run 0 wait 'q-.*'
printf '<%s>\n' "a; touch $T/pwned" "a; touch $T/pwned" >want1
printf '<%s>\n' "it's \"x\" \$(touch $T/pwned2) \`id\`" "it's \"x\" \$(touch $T/pwned2) \`id\`" >want2
printf '<%s>\n' "" "" >want3
wait_for 5 grep -q . "$SPMI_PATH/q-3/stdout" || fail "q-3 wrote nothing"
for n in 1 2 3; do diff "want$n" "$SPMI_PATH/q-$n/stdout" >&2 || fail "q-$n: the value did not arrive as one literal argument"; done
[ ! -e "$T/pwned" ] && [ ! -e "$T/pwned2" ] || fail "a matrix value was run by the shell"
pass "a value with ; \$( ) quotes and backquotes, and an empty one, arrive as one literal argument each"

printf '[task]\nid = "w-{word}"\nmatrix = { word = ["ok", "a b"] }\n[task.backend]\ntype = "local"\n[task.wrapper]\ntype = "default"\ncommand = "true"\n' >badid.toml
run 3 load badid.toml
err_has "badid.toml: task[word=a b].id: 'w-a b' is not a valid ID"
printf '[task]\nid = "s-{lr}"\nmatrix = { lr = [1, 2], seed = [1, 2] }\n[task.backend]\ntype = "local"\n[task.wrapper]\ntype = "default"\ncommand = "true"\n' >dupid.toml
run 3 load dupid.toml
err_has "dupid.toml: task[lr=1, seed=2].id: 's-1' is also the ID of task[lr=1, seed=1]"
python3 -c "print('[task]\nid = \"big-{a}-{b}\"\nmatrix = { a = %s, b = %s }\n[task.backend]\ntype = \"local\"\n[task.wrapper]\ntype = \"default\"\ncommand = \"true\"' % (list(range(101)), list(range(100))))" >big.toml
run 3 load big.toml
err_has "big.toml: task.matrix: makes more than 10000 combinations (a: 101 × b: 100); at most 10000 manageables per file"
printf '[task]\nid = "c-{n}"\nmatrix = { n = [1, 2, 3, 4, 5, 6, 7, 8] }\n[task.backend]\ntype = "local"\n[task.wrapper]\ntype = "default"\n' >cap.toml
run 3 load cap.toml
err_has "cap.toml: task[n=5].wrapper: missing key 'command'"
err_has "cap.toml: 3 more problems like these"
! grep -q "task\[n=6\]" "$T/err" || fail "a matrix's repeated problem is not cut at 5"
run 0 list
out_lacks w-ok
out_lacks s-1
pass "an invalid or duplicate expanded ID is refused naming its combination; more than 10,000 are refused; a template's mistake is named 5 times, not once per combination"

sed -i 's/echo b"/echo b-changed"/' three.toml
run 0 reload t-b
err_has 'Reloaded manageable "t-b"'
grep -q 'echo b-changed' "$SPMI_PATH/t-b/manageable.json" || fail "t-b was not re-read from its file"
grep -q '"echo a"' "$SPMI_PATH/t-a/manageable.json" || fail "t-a changed"
run 0 reload --dry-run 'sim-lr0.1-s1'
out_has "would reload sim-lr0.1-s1"
sed -i 's/seed = \[1, 2, 3\]/seed = [1, 2]/' sweep.toml
run 3 reload sim-lr0.1-s3
err_has "sweep.toml: has no manageable 'sim-lr0.1-s3' any more"
pass "reload of one entry re-reads that ID from its file; an ID the file no longer makes is refused"

{ entry t-a "echo a2"; entry t-d "echo d"; } >three.toml
run 0 load --replace --dry-run three.toml
out_has "would replace t-a"
out_has "would load t-d"
[ ! -d "$SPMI_PATH/t-d" ] || fail "load --replace --dry-run loaded t-d"
run 0 load --replace three.toml
grep -q 'echo a2' "$SPMI_PATH/t-a/manageable.json" || fail "t-a not replaced"
[ -d "$SPMI_PATH/t-d" ] || fail "t-d not loaded"
run 1 load --dry-run three.toml
out_has "would not load t-a (from three.toml): it is loaded already"
pass "load --replace (and --dry-run with it) of a file of several; load --dry-run says which are loaded already"
