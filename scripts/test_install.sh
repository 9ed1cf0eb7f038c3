#!/usr/bin/env bash
# The installed package as an application sees it: installs BUILD_DIR (a
# configured and built clgraph, default build) into a temporary prefix, checks
# the tree (no build-tree paths in it, the SONAME and versions from
# CMakeLists.txt's project(), the header compiling on its own as C and C++),
# then builds every examples/embed/*.c against it four ways and runs each
# program, which checks its device results against the reference executor:
#   - CMake, find_package(clgraph) with CMAKE_PREFIX_PATH: clgraph::clgraph
#   - CMake, the same with clgraph::clgraph_static (no libclgraph.so needed)
#   - cc with pkg-config --cflags --libs clgraph, PKG_CONFIG_PATH
#   - cc with pkg-config --static and libclgraph.a
# Devices as CLGRAPH_DEVICE says (scripts/test.sh: PoCL). Any error fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(cd "${1:-build}" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "test_install.sh: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
echo "-- installed into $prefix:"
(cd "$prefix" && find . -type f -o -type l | sort | sed 's|^\./|   |')

# ---- the version, read from CMakeLists.txt, against everything that carries it
version=$(sed -n 's/^project(clgraph VERSION \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || fail "no project(clgraph VERSION X.Y.Z) line in CMakeLists.txt"
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soversion=0.$minor; else soversion=$major; fi
libdir=$(dirname "$(find "$prefix" -name 'libclgraph.so' | head -1)")
[ -f "$libdir/libclgraph.a" ] || fail "libclgraph.a is not next to libclgraph.so in $libdir"
soname=$(readelf -d "$libdir/libclgraph.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libclgraph.so.$soversion" ] ||
  fail "SONAME is '$soname', expected libclgraph.so.$soversion for version $version"
[ "$("$prefix/bin/clgraph" --version)" = "clgraph $version" ] ||
  fail "installed clgraph --version says '$("$prefix/bin/clgraph" --version)', expected clgraph $version"
exported=$(nm -D --defined-only "$libdir/libclgraph.so" | awk '$3 !~ /^clg_/ {print $3}')
[ -z "$exported" ] || fail "libclgraph.so exports symbols outside clg_*: $exported"
echo "-- version $version, SONAME $soname, only clg_* exported"

# ---- nothing installed may point into the source or build tree
if grep -rlF -e "$root" -e "$build" "$prefix/include" "$libdir/cmake" "$libdir/pkgconfig"; then
  fail "the files above name the source or build tree"
fi

# ---- the installed header alone, as C11 and C++11, pedantic
printf '#include <clgraph.h>\nint main(void) { return clg_version() == CLG_VERSION_NUMBER ? 0 : 1; }\n' >"$work/header.c"
cp "$work/header.c" "$work/header.cpp"
cc -std=c11 -Wall -Wextra -pedantic -Werror -I"$prefix/include" -c "$work/header.c" -o "$work/header_c.o"
c++ -std=c++11 -Wall -Wextra -pedantic -Werror -I"$prefix/include" -c "$work/header.cpp" -o "$work/header_cpp.o"
echo "-- include/clgraph.h compiles on its own (C11, C++11)"

# ---- examples/embed: every program, built each way, run
programs=()
for src in examples/embed/*.c; do programs+=("$(basename "$src" .c)"); done
export CLGRAPH_CACHE_DIR=$work/cache
run_all() { # DIR: runs every program built there
  for p in "${programs[@]}"; do
    [ -x "$1/$p" ] || fail "$1/$p was not built"
    echo "-- $1/$p"
    "$1/$p" || fail "$p (in $1) failed"
  done
}
no_shared_clgraph() { # DIR: the static builds must not need libclgraph.so
  for p in "${programs[@]}"; do
    if readelf -d "$1/$p" | grep -q 'NEEDED.*libclgraph'; then fail "$1/$p needs libclgraph.so"; fi
  done
}

for kind in shared static; do
  static=OFF; [ "$kind" = static ] && static=ON
  echo "-- cmake -S examples/embed -B $work/cmake-$kind -DCMAKE_PREFIX_PATH=$prefix -DCLGRAPH_EMBED_STATIC=$static"
  cmake -S examples/embed -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCLGRAPH_EMBED_STATIC=$static -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >"$work/cmake-$kind.log"
  found=$(sed -n 's/^clgraph_DIR:PATH=//p' "$work/cmake-$kind/CMakeCache.txt")
  [ "$found" = "$libdir/cmake/clgraph" ] || fail "find_package found clgraph in '$found', not in $prefix"
  cmake --build "$work/cmake-$kind" >"$work/build-$kind.log" || { cat "$work/build-$kind.log"; exit 1; }
  [ "$kind" = static ] && no_shared_clgraph "$work/cmake-$kind"
  run_all "$work/cmake-$kind"
done

export PKG_CONFIG_PATH=$libdir/pkgconfig
mkdir -p "$work/pkg-config"
for p in "${programs[@]}"; do
  cmd=(cc -std=c11 -Wall -Wextra -Werror "examples/embed/$p.c" -o "$work/pkg-config/$p"
       $(pkg-config --cflags --libs clgraph OpenCL) -lm -Wl,-rpath,"$(pkg-config --variable=libdir clgraph)")
  echo "-- ${cmd[*]}"
  "${cmd[@]}"
done
run_all "$work/pkg-config"
# The static library through pkg-config: -Bstatic picks libclgraph.a, and
# --static adds what it needs (Requires.private, Libs.private); --as-needed
# drops the libclgraph.so that the repeated -lclgraph would otherwise add.
mkdir -p "$work/pkg-config-static"
for p in "${programs[@]}"; do
  cmd=(cc -std=c11 -Wall -Wextra -Werror "examples/embed/$p.c" -o "$work/pkg-config-static/$p"
       $(pkg-config --cflags clgraph OpenCL) -Wl,--as-needed -Wl,-Bstatic -lclgraph -Wl,-Bdynamic
       $(pkg-config --static --libs clgraph OpenCL) -lm)
  echo "-- ${cmd[*]}"
  "${cmd[@]}"
done
no_shared_clgraph "$work/pkg-config-static"
run_all "$work/pkg-config-static"

# The installed CLI on the installed example model, against the reference.
"$prefix/bin/clgraph" run "$prefix/share/doc/clgraph/examples/residual_mlp.clg" --batch 2 --check >"$work/cli.log" ||
  { cat "$work/cli.log"; fail "the installed clgraph run --check failed"; }
echo "-- installed clgraph run residual_mlp.clg --check: ok"
echo "test_install.sh: all passed"
