#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `list`'s cache of never-started manageables ($SPMI_PATH/.list.cache, core/src/list_cache.hpp) never
# shows a stale state: a start, a stop, a reload and a clean show at once; a corrupt, foreign-shaped or
# symlinked cache is ignored and replaced; a listing with the cache is the listing without it.
source "$(dirname "$0")/common.sh"

for i in 1 2 3; do task_toml "c$i.toml" "lc_$i" 'sleep 300' local; done
run 0 load c1.toml c2.toml c3.toml
sleep 1.2  # only directories unchanged for over a second are cached
run 0 list
[ -f "$SPMI_PATH/.list.cache" ] || fail "list made no cache"
grep -q "lc_2" "$SPMI_PATH/.list.cache" || fail "lc_2 not cached"
cp "$T/out" "$T/first"
run 0 list
cmp -s "$T/out" "$T/first" || fail "a listing from the cache differs"
pass "the cache is made and read"

# A start shows at once, the stop too (the directory changed: read from its files).
run 0 start lc_2
run 0 list
grep -qE '^lc_2 +active' "$T/out" || fail "lc_2 not shown active after start"
run 0 stop lc_2
run 0 list
grep -qE '^lc_2 +inactive' "$T/out" || fail "lc_2 not inactive after stop"
pass "start and stop are not hidden by the cache"

# A reload with another comment, right away.
sed -i 's/^comment = .*/comment = "changed"/' c1.toml
grep -q changed c1.toml || fail "the test's descriptor has no comment line"
run 0 reload lc_1
run 0 list
grep -qE '^lc_1 +inactive .*changed$' "$T/out" || fail "the reloaded comment is not shown"
pass "reload is shown at once"

# Clean, then load the same ID again with another comment: never the old entry.
run 0 clean lc_3
run 0 list
out_lacks "lc_3"
task_toml c3b.toml lc_3 'sleep 300' local
sed -i 's/^comment = .*/comment = "again"/' c3b.toml
run 0 load c3b.toml
run 0 list
grep -qE '^lc_3 +inactive .*again$' "$T/out" || fail "the reloaded ID shows an old entry"
pass "clean and load again"

# A corrupt cache is ignored and replaced; a symlinked one is not followed.
sleep 1.2
run 0 list
cp "$T/out" "$T/good"
printf 'spmi-list-cache 1\nlc_1\t1\t2\tx\n' >"$SPMI_PATH/.list.cache"
run 0 list
cmp -s "$T/out" "$T/good" || fail "a corrupt cache changed the listing"
grep -q "^lc_1	" "$SPMI_PATH/.list.cache" || fail "the corrupt cache was not replaced"
rm "$SPMI_PATH/.list.cache"
printf 'spmi-list-cache 1\n' >"$T/elsewhere"
ln -s "$T/elsewhere" "$SPMI_PATH/.list.cache"
run 0 list
cmp -s "$T/out" "$T/good" || fail "a symlinked cache changed the listing"
[ ! -L "$SPMI_PATH/.list.cache" ] || fail "the symlinked cache was kept"
[ "$(cat "$T/elsewhere")" = "spmi-list-cache 1" ] || fail "the link's target was written"
pass "corrupt and symlinked caches are ignored"

# The same listing without any cache.
rm -f "$SPMI_PATH/.list.cache"
run 0 list
cmp -s "$T/out" "$T/good" || fail "the listing without the cache differs"
pass "with and without the cache alike"
