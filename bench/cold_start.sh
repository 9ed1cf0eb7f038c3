#!/bin/bash
# Cold and warm start-up of `clgraph run` (batch 1): each run gets a fresh
# set of empty directories (HOME, XDG_CACHE_HOME, CLGRAPH_CACHE_DIR and
# POCL_CACHE_DIR),
# runs MODEL twice (cold, then warm) and prints for each the time to the
# first result (when the results reach the pipe: clgraph run flushes them
# before closing its context, which on PoCL then still saves the compiled
# programs to the cache; builds before that flush show the exit time) and
# to the process's exit, how many programs the cold run compiled (the
# CLI's "compiling N OpenCL programs" line) and how many binaries it left.
# Pass several CLGRAPH binaries to compare builds interleaved.
#   bench/cold_start.sh DEVICE MODEL CLGRAPH [CLGRAPH...]
# Environment passes through (CLGRAPH_GEMM=measure, CLGRAPH_BUILD_THREADS=1,
# CLGRAPH_SAVE_BINARIES=build|destroy|never, CLGRAPH_LOG=builds to list
# each program's compile time on stderr).
set -u
dev=$1 model=$2
shift 2

# timed BIN DIR: runs BIN on MODEL with DIR's caches; prints "FIRST EXIT"
# in seconds since its start.
timed() {
    local t0 first
    t0=$(date +%s.%N)
    first=$(HOME=$2/home XDG_CACHE_HOME=$2/xdg CLGRAPH_CACHE_DIR=$2/clg POCL_CACHE_DIR=$2/pocl \
        "$1" run "$model" --device "$dev" 2>>"$2/err" |
        { IFS= read -r _ && date +%s.%N; cat >/dev/null; })
    local t1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v f="${first:-$t1}" -v b="$t1" 'BEGIN { printf "%.2f %.2f\n", f - a, b - a }'
}

for bin in "$@"; do
    d=$(mktemp -d "${TMPDIR:-/tmp}/clg_cold.XXXXXX") || exit 1
    mkdir -p "$d/clg" "$d/pocl" "$d/home" "$d/xdg"
    read -r cold_first cold_exit <<<"$(timed "$bin" "$d")"
    compiled=$(sed -n 's/.*compiling \([0-9]*\) OpenCL program.*/\1/p' "$d/err" | head -1)
    read -r warm_first warm_exit <<<"$(timed "$bin" "$d")"
    echo "$bin $(basename "$model") $dev: cold first result $cold_first s, exit $cold_exit s;" \
         "warm $warm_first s, exit $warm_exit s; ${compiled:-0} compiled," \
         "$(ls "$d/clg" | grep -c '\.bin$') binaries," \
         "load $(cut -d' ' -f1 /proc/loadavg)"
    rm -rf "$d"
done
