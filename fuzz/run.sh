#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) into build-fuzz and
# runs each for SECONDS (default 60). Fails on any crash, leak, timeout or
# broken property; the input that did it is left in build-fuzz/artifacts/.
#
#   fuzz/run.sh [SECONDS] [HARNESS...]      harnesses: parse optimize npy onnx bundle (default: all)
#
# Each harness starts from its seeds (copied into build-fuzz/corpus/NAME,
# which keeps what earlier runs found) plus fuzz/regressions/NAME. To keep a
# crash fixed, copy its artifact into fuzz/regressions/NAME; ctest replays
# that folder in every build.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

cc=$(command -v clang-14 || command -v clang || true)
cxx=$(command -v clang++-14 || command -v clang++ || true)
[ -n "$cc" ] && [ -n "$cxx" ] || { echo "fuzz/run.sh: no clang (scripts/setup.sh installs clang-14)" >&2; exit 1; }
# CMake cannot switch compilers in an existing build folder; start it afresh
# (build-fuzz/corpus, what earlier runs found, stays).
if [ -f build-fuzz/CMakeCache.txt ] && { ! grep -qx "CMAKE_C_COMPILER:[A-Z]*=$cc" build-fuzz/CMakeCache.txt ||
                                        ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$cxx" build-fuzz/CMakeCache.txt; }; then
  rm -rf build-fuzz/CMakeCache.txt build-fuzz/CMakeFiles
fi
# The library has one C++ file (CLBlast's C++-only API), so C++ is clang too.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCLGRAPH_FUZZ=ON -DCLGRAPH_TESTS=OFF -DCLGRAPH_WERROR=ON >/dev/null
targets_help=$(cmake --build build-fuzz --target help)
available=()
for h in parse optimize npy onnx bundle; do
  grep -qx "\.\.\. fuzz_$h" <<<"$targets_help" && available+=("$h")
done
harnesses=("$@")
((${#harnesses[@]})) || harnesses=("${available[@]}")
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

seeds() { # the seed files of harness $1
  local dirs=() pattern='*'
  case $1 in
    parse) dirs=(tests/data/valid tests/data/malformed examples) ;;
    optimize) dirs=(tests/data/valid tests/data/malformed examples) ;;
    npy)   dirs=(tests/data/npy tests/fixtures) pattern='*.npy' ;;
    # Models over 1 MB would be cut to libFuzzer's default maximum length.
    onnx)  dirs=(tests/onnx tests/fixtures /usr/share/libonnx-testdata/data/node) pattern='*.onnx' ;;
    bundle) dirs=(tests/data/bundle) pattern='*.clgb' ;;
  esac
  for d in "${dirs[@]}"; do
    [ -d "$d" ] && find "$d" -type f -name "$pattern" -size -1000k
  done
  return 0
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ] && export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
# The library never touches OpenCL here, but keep third-party leaks out anyway.
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
mkdir -p build-fuzz/artifacts
# One harness per core at a time (each libFuzzer run is one process on one
# core): on CI's 2 cores the five take three minutes of wall time, not five,
# each still fuzzing for SECONDS.
fuzz_one() { # harness $1; its summary goes to build-fuzz/fuzz_$1.summary, status 1 on a failure
  local h=$1 corpus=build-fuzz/corpus/$1 log=build-fuzz/fuzz_$1.log dict=()
  mkdir -p "$corpus"
  seeds "$h" | while read -r f; do
    dest=$corpus/seed_$(echo "$f" | tr / _)
    [ -e "$dest" ] || cp "$f" "$dest"
  done
  [ -f "fuzz/$h.dict" ] && dict=(-dict="fuzz/$h.dict")
  if [ "$h" = optimize ]; then dict=(-dict=fuzz/parse.dict); fi
  if ./build-fuzz/fuzz/fuzz_"$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$h"- "${dict[@]}" \
       "$corpus" "fuzz/regressions/$h" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz $h: ${runs:-?} inputs, no crash (corpus $(ls "$corpus" | wc -l) files)" >"build-fuzz/fuzz_$h.summary"
  else
    { echo "fuzz $h: FAILED; the end of $log:"; tail -n 60 "$log"; } >"build-fuzz/fuzz_$h.summary"
    return 1
  fi
}
status=0
cores=$(nproc)
rm -f build-fuzz/fuzz_*.summary
for h in "${harnesses[@]}"; do
  echo "== fuzz $h for ${seconds}s"
  fuzz_one "$h" &
  while (($(jobs -rp | wc -l) >= cores)); do wait -n || true; done
done
wait || true
# the outcome from each harness's summary (a harness whose summary is
# missing failed too)
for h in "${harnesses[@]}"; do
  summary=build-fuzz/fuzz_$h.summary
  if [ -f "$summary" ]; then cat "$summary"; else echo "fuzz $h: FAILED, no summary"; status=1; fi
  if grep -q "FAILED" "$summary" 2>/dev/null; then status=1; fi
done
exit $status
