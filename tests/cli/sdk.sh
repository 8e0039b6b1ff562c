#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The plugin SDK, as a third party uses it: `cmake --install` spmi, build examples/plugins/nice_backend
# in a separate build directory against the installed SDK only (CMake package, then pkg-config), drop
# it into the user's plugin directory, see it in `spmi plugins`, run a task through it with the
# installed spmi. Stale and foreign .so files are refused with a clear message.
source "$(dirname "$0")/common.sh"
: "${SPMI_BUILD_DIR:?}"
need cmake
need pkg-config
need nice
need ionice
need prlimit

install_sdk

# The SDK is there: headers, library, CMake package, pkg-config file.
for f in include/spmi/plugin.hpp include/spmi/export.hpp include/spmi/errors.hpp lib/cmake/spmi/spmiConfig.cmake \
         lib/cmake/spmi/SpmiPlugin.cmake lib/pkgconfig/spmi.pc; do
  [ -f "$prefix/$f" ] || fail "the SDK lacks $f"
done
ls "$prefix"/lib/libspmi_core.so* >/dev/null || fail "the SDK lacks libspmi_core.so"
pass "SDK installed"

# The documentation: the user guide always, the API reference once the docs target has built it (CI's
# main stage builds it before the tests).
for f in share/doc/spmi/README.md share/doc/spmi/guide/descriptors.md; do
  [ -f "$prefix/$f" ] || fail "the install lacks $f"
done
if [ -f "$SPMI_BUILD_DIR/docs/api/html/index.html" ]; then
  [ -f "$prefix/share/doc/spmi/api/index.html" ] || fail "the API reference was built but not installed"
  grep -q "Backend" "$prefix/share/doc/spmi/api/annotated.html" || fail "the installed API reference lacks the Backend class"
  pass "user guide and API reference installed under share/doc/spmi"
else
  echo "note: docs target not built in $SPMI_BUILD_DIR; checked the user guide only"
  pass "user guide installed under share/doc/spmi"
fi

# Build the example from a copy outside the source tree, so nothing of the tree can leak in.
cp -r "$SOURCE_DIR/examples/plugins/nice_backend" "$T/src"
build_example "$T/src" "$T/build" -DCMAKE_INSTALL_PREFIX="$T/ext"
plugin="$T/build/spmi_backend_nice.so"
[ -f "$plugin" ] || fail "no $plugin"
# Hidden visibility: of its own code, the plugin exports only its class alias and the ABI stamp
# (libstdc++'s template instances keep their default visibility by design; they are left out).
defined=$(nm -DC --defined-only "$plugin" | cut -d' ' -f3- | grep -vE '^(_init|_fini|__bss_start|_edata|_end)$' \
  | grep -vE '^([^ (]+ )?std::' | sort | tr '\n' ' ')
abi=$(sed -n 's/^#define SPMI_PLUGIN_ABI_VERSION //p' "$prefix/include/spmi/export.hpp")
[ "$defined" = "NiceBackend spmi_abi_${abi}_libstdcxx_cxx11 " ] || fail "the plugin exports more than its class and ABI stamp: $defined"
# `INSTALL` puts it under <prefix>/lib/spmi/plugins.
cmake --install "$T/build" >/dev/null || fail "installing the example"
ls "$T"/ext/lib*/spmi/plugins/spmi_backend_nice.so >/dev/null || fail "the example's install rule"
pass "example built against the installed SDK (CMake package)"

cp "$plugin" "$user_dir/"
run 0 plugins
out_has "backend    nice"
out_has "NiceBackend"
out_has "$user_dir/spmi_backend_nice.so"
out_has "$user_dir (yours)"
pass "spmi plugins lists the dropped-in plugin"

cat >niced.toml <<'TOML'
[task]
id = "niced"
comment = "low priority"
[task.backend]
type = "nice"
niceness = 12
io_class = "idle"
max_open_files = 256
[task.wrapper]
type = "default"
command = "echo nice=$(nice) io=$(ionice) files=$(ulimit -n); sleep 30"
mixed_stdout = true
TOML
run 0 load niced.toml
run 0 start niced
wait_for 10 grep -q files= "$SPMI_PATH/niced/stdout" || fail "the task wrote nothing"
# niceness adds to ours (nice -n), capped at 19: a suite run under `nice` sees more than 12.
want_nice=$(( $(nice) + 12 > 19 ? 19 : $(nice) + 12 ))
grep -qx "nice=$want_nice io=idle files=256" "$SPMI_PATH/niced/stdout" \
  || fail "the task did not run with the backend's settings: $(cat "$SPMI_PATH/niced/stdout")"
run 0 status niced
out_has "Active: active"
out_has "Backend type: nice"
run 0 stop niced
run 0 status niced
out_has "Active: inactive"
pass "a task ran through the third-party backend and stopped"

# The plugin validates its own keys at load, naming file and key.
cat >bad.toml <<'TOML'
[task]
id = "bad"
[task.backend]
type = "nice"
niceness = 40
[task.wrapper]
type = "default"
command = "true"
TOML
run 3 load bad.toml
err_has "bad.toml: task.backend.niceness: 40 is not a whole number from 0 to 19"
pass "plugin's own descriptor errors"

# The same source built with pkg-config alone, in an earlier directory: it shadows the first one.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
mkdir -p "$T/pc"
# shellcheck disable=SC2046
c++ $(pkg-config --variable=plugin_cflags spmi) $(pkg-config --cflags spmi) -o "$T/pc/spmi_backend_nice.so" \
  "$T/src/nice_backend.cpp" $(pkg-config --libs spmi) $(pkg-config --variable=plugin_ldflags spmi) \
  2>"$T/pc.log" || { cat "$T/pc.log" >&2; fail "building with pkg-config"; }
export SPMI_PLUGIN_PATH="$T/pc"
run 0 plugins
out_has "$T/pc/spmi_backend_nice.so"
out_has "$user_dir/spmi_backend_nice.so: backend NiceBackend is shadowed by $T/pc/spmi_backend_nice.so"
run 0 start niced
wait_for 10 is_active niced || fail "niced (pkg-config build) did not start"
run 0 kill niced
pass "pkg-config build; shadowing reported"
unset SPMI_PLUGIN_PATH

# Two files exporting the same class in one directory: a clear error naming both.
cp "$plugin" "$user_dir/spmi_backend_nice_copy.so"
run 0 plugins
out_has "backend NiceBackend is exported by both $user_dir/spmi_backend_nice.so and $user_dir/spmi_backend_nice_copy.so"
run 4 start niced
err_has "NiceBackend is exported by two files in $user_dir: spmi_backend_nice.so and spmi_backend_nice_copy.so"
rm "$user_dir/spmi_backend_nice_copy.so"
pass "one class twice in one directory"

# A stale plugin (built for another plugin ABI) and a foreign .so are refused before any of their code
# runs, with the reason; a descriptor needing the stale one says files were refused.
rm "$user_dir/spmi_backend_nice.so"
cp "$SPMI_BUILD_DIR/tests/fixtures/plugins/old_abi/spmi_test_old_abi.so" "$user_dir/"
libz=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/*/libz.so.1 2>/dev/null | head -1)
[ -n "$libz" ] && cp "$libz" "$user_dir/libforeign.so"
printf 'not an ELF file' >"$user_dir/junk.so"
run 0 plugins
out_has "$user_dir/spmi_test_old_abi.so: was built for plugin ABI 0"
out_has "rebuild the plugin against this spmi's SDK"
[ -n "$libz" ] && out_has "$user_dir/libforeign.so: exports no spmi plugin"
out_has "$user_dir/junk.so: not a loadable shared object"
run 3 start niced
err_has "unknown backend type 'nice'"
cat >old.toml <<'TOML'
[task]
id = "old"
[task.backend]
type = "old"
[task.wrapper]
type = "default"
command = "true"
TOML
run 3 load old.toml
err_has "unknown backend type 'old'"
err_has "plugin files were refused: see \`spmi plugins\`"
pass "stale and foreign files refused"

# `spmi plugins` reads the files without running any plugin code: a plugin whose static constructor
# writes a file is listed, and the file is not written.
export SPMI_TEST_LOUD_MARKER="$T/loud.marker"
SPMI_PLUGIN_PATH="$SPMI_BUILD_DIR/tests/fixtures/plugins/loud" run 0 plugins
out_has "LoudBackend"
[ ! -e "$SPMI_TEST_LOUD_MARKER" ] || fail "spmi plugins ran code of the plugin"
pass "plugins runs no plugin code"
echo "sdk: all passed"
