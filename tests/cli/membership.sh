#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Task membership with real programs that hide from an environment marker: nginx (master + workers,
# rewritten titles), a perl $0 rewrite, `env -i` and `env -u` children, `exec env -i` as the main
# process, and a setsid double-forking daemon with an empty environment. After `stop` and after `kill`
# none remains, on the local, screen and tmux backends. SPMI_TEST_MEMBERSHIP=fallback (see
# membership_fallback.sh) forces the fallback; otherwise each run gets a cgroup under a base private to
# this test. A process frozen by the cgroup-v1 freezer (it can't die of SIGKILL: as a process stuck on
# a dead NFS server) shows that kill never reports success while a member lives.
source "$(dirname "$0")/common.sh"
need screen
need tmux
need perl
[ -x /usr/sbin/nginx ] || { echo "SKIP: nginx is not installed"; exit 77; }

mode=${SPMI_TEST_MEMBERSHIP:-cgroup}
if [ "$mode" = fallback ]; then
  export SPMI_MEMBERSHIP=fallback
  want_membership="process tree (fallback: SPMI_MEMBERSHIP=fallback is set)"
else
  mount=""
  for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    [ "$(stat -f -c %T "$m" 2>/dev/null)" = cgroup2fs ] && { mount=$m; break; }
  done
  [ -n "$mount" ] && [ -w "$mount" ] || { echo "SKIP: no writable cgroup v2 hierarchy"; exit 77; }
  export SPMI_CGROUP_BASE="$mount/spmi-test-$$"
  want_membership="cgroup $SPMI_CGROUP_BASE/"
  base_cleanup() {
    # Depth first; a run's directories are removed by its wrapper, so normally only the base is left.
    find "$SPMI_CGROUP_BASE" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
    rmdir "$SPMI_CGROUP_BASE" 2>/dev/null || true
  }
  trap 'cleanup; base_cleanup' EXIT
fi

# Waits until the command's output is N.
wait_count() { local n=$1 i; shift; for i in $(seq 1 200); do [ "$("$@")" = "$n" ] && return 0; sleep 0.05; done; return 1; }
# The pids still running (a zombie has ended: only its parent's wait is missing).
alive() { local p; for p in "$@"; do grep -qs '^[^)]*) [^Z]' "/proc/$p/stat" 2>/dev/null && echo "$p"; done; true; }

# A tree that hides from the marker in every way a program can.
tree() {
  local n=$1
  printf '%s' "env -i /bin/sleep 1${n}1.$TAG & env -u SPMI_RUN_TOKEN /bin/sleep 1${n}2.$TAG & "
  printf '%s' "perl -e '\$0 = \"renamed-1${n}3-$TAG-\" . (\"x\" x 300); sleep 600' & "
  printf '%s' "perl -MPOSIX -e 'fork and exit; POSIX::setsid(); fork and exit; %ENV = (); "
  printf '%s' "exec {\"/bin/sleep\"} \"daemon-1${n}4-$TAG\", 600' ; exec env -i /bin/sleep 1${n}5.$TAG"
}
members() { pgrep -f "^(/bin/)?sleep 1${1}[125]\.$TAG\$|^renamed-1${1}3-$TAG-|^daemon-1${1}4-$TAG" | sort; }
count() { members "$1" | wc -l; }

# nginx in the foreground: a master that renames itself and two workers (user nobody).
nginx_conf() {
  local dir=$1 port=$2
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 16; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server { listen 127.0.0.1:$port; return 200 "ok\n"; }
}
EOF
}

n=0
for backend in local screen tmux; do
  for how in stop kill; do
    n=$((n + 1))
    # 1. The hiding tree.
    id="tree_${backend}_$how"
    task_toml "$id.toml" "$id" "$(tree "$n")" "$backend" 'stop_timeout = 2'
    run 0 load "$id.toml"
    run 0 start "$id"
    wait_count 5 count "$n" || fail "$id: tree incomplete: $(members "$n" | paste -sd' ')"
    run 0 status "$id"
    out_has "Membership: $want_membership"
    # Every one of them counts in the resources (the daemon, the renamed and the env -i ones).
    procs=$(sed -n 's/^Resources: .*, \([0-9]*\) process.*/\1/p' "$T/out")
    [ "${procs:-0}" -ge 5 ] || fail "$id: status counts ${procs:-0} processes, expected at least 5"
    [ "$mode" = fallback ] || grep -q "$(members "$n" | head -1)" \
      "$(sed -n 's/^Membership: cgroup //p' "$T/out")/cgroup.procs" || fail "$id: not in its cgroup"
    pids=$(members "$n")
    run 0 "$how" "$id"
    left=$(alive $pids)
    [ -z "$left" ] || fail "$id: $how left $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)")"
    pass "$backend, $mode: $how ends a tree that hides from the marker"

    # 2. nginx: master and workers.
    id="nginx_${backend}_$how"
    dir="$T/$id"
    port=$((20000 + ($$ * 7 + n) % 20000))
    nginx_conf "$dir" "$port"
    task_toml "$id.toml" "$id" "exec /usr/sbin/nginx -p $dir -c $dir/nginx.conf" "$backend" 'stop_timeout = 5'
    run 0 load "$id.toml"
    run 0 start "$id"
    wait_for 10 test -s "$dir/nginx.pid" || fail "$id: nginx did not start: $(cat "$dir/logs/error.log")"
    master=$(cat "$dir/nginx.pid")
    wait_for 10 sh -c "[ \$(pgrep -P $master | wc -l) = 2 ]" || fail "$id: no workers"
    workers=$(pgrep -P "$master")
    tr '\0' '\n' <"/proc/$master/environ" | grep -q SPMI_RUN_TOKEN &&
      echo "note: nginx kept the marker in its environment"
    run 0 status "$id"
    grep -qE '^Resources: .*, 3 processes' "$T/out" || fail "$id: status does not count master + 2 workers"
    run 0 "$how" "$id"
    left=$(alive "$master" $workers)
    [ -z "$left" ] || fail "$id: $how left nginx processes $left"
    pass "$backend, $mode: $how ends nginx, master and workers"
  done
done

# 3. A member that can't die (frozen by the cgroup-v1 freezer, as a process stuck in the kernel):
# kill must not report success, and must name it; status says it runs without a wrapper.
freezer=/sys/fs/cgroup/freezer
if [ -d "$freezer" ] && mkdir "$freezer/spmi-test-$$" 2>/dev/null; then
  thaw() { [ -d "$freezer/spmi-test-$$" ] || return 0; echo THAWED >"$freezer/spmi-test-$$/freezer.state"; sleep 0.2; rmdir "$freezer/spmi-test-$$" 2>/dev/null || true; }
  trap 'thaw; cleanup; [ "$mode" = fallback ] || base_cleanup' EXIT
  task_toml z.toml frozen "sleep 1901.$TAG & echo \$! > $T/frozen.pid; sleep 1902.$TAG" local
  run 0 load z.toml
  run 0 start frozen
  wait_for 5 test -s "$T/frozen.pid" || fail "frozen: no pid"
  frozen=$(cat "$T/frozen.pid")
  echo "$frozen" >"$freezer/spmi-test-$$/tasks"
  echo FROZEN >"$freezer/spmi-test-$$/freezer.state"
  run 1 kill frozen
  err_has "survived"
  err_has "$frozen (sleep 1901.$TAG)"
  run 0 status frozen
  out_has "still running without a wrapper: $frozen (sleep 1901.$TAG)"
  thaw
  wait_for 5 sh -c "! kill -0 $frozen 2>/dev/null" || fail "the thawed process did not die of its pending SIGKILL"
  pass "$mode: kill fails and names a member that survives SIGKILL"
else
  echo "note: no cgroup-v1 freezer here; the unkillable-member case is not run"
fi
echo "membership ($mode): all passed"
