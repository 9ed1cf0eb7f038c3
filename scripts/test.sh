#!/usr/bin/env bash
# Installs what is missing, builds the plain, the Release (the demo's) and
# the AddressSanitizer+UBSan configurations with -Werror, runs every test of the plain build on PoCL
# (and the Python package's, python/tests) and again on Intel's OpenCL CPU
# runtime (plus test_oclgrind once, on Oclgrind's simulated device),
# installs the plain build into a temporary prefix and builds and runs
# examples/embed/ against it (scripts/test_install.sh), compiles every
# OpenCL program those runs built again for AMD and NVIDIA GPU targets
# (scripts/gpu_compile_check.py), runs every test of the sanitizer build on
# PoCL, builds and runs the threaded tests under ThreadSanitizer on PoCL,
# then fuzzes each fuzz harness for 60 s (fuzz/run.sh; any crash fails).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Devices by platform name, so that the order in which the ICD loader lists
# the platforms does not matter (tests honour CLGRAPH_DEVICE).
pocl="Portable Computing Language"
intel="Intel(R) OpenCL"

echo "== plain build"
# Tests on explicitly: scripts/demo.sh builds the same folder without them.
bash scripts/build.sh build -DCLGRAPH_TESTS=ON
# The README's demo builds Release with -Werror (scripts/demo.sh), where
# gcc's -O3 warns about what -O2 does not (-Wmaybe-uninitialized once
# broke it while every test passed): build that too, and run the demo's
# model on the default device.
echo "== Release build, as scripts/demo.sh makes it, and the demo's run"
bash scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release -DCLGRAPH_TESTS=OFF
./build-release/clgraph run examples/residual_mlp.clg --batch 1 >/dev/null
./build/clgraph devices
has_platform() { ./build/clgraph devices | grep -qF "platform   $1"; }
if ! has_platform "$pocl"; then
  echo "test.sh: no PoCL device (scripts/setup.sh installs pocl-opencl-icd)" >&2
  exit 1
fi
# Every program the tests build from source is recorded
# (tests/program_recorder.c) for the GPU compile check below. Each stage
# gets an empty program cache, so every program is built from source, and
# recorded, at least once even on a machine that ran the tests before.
root=$PWD
# On PoCL no program binaries go to the cache: each test process is
# short, its caches start empty, and a PoCL binary compiles every kernel of
# its program again (docs/runtime.md, "Programs and the cache"): a test of
# 52 random graphs took 258 s from empty caches saving them, 125 s
# without. PoCL's own cache (under HOME) still serves a program the next
# process builds again. Intel's runtime keeps its default (binaries right
# after the build: there a binary is not a second compile, and later test
# processes load it). The tests of the cache itself set their own policy.
export CLGRAPH_SAVE_BINARIES=never
programs=$root/build/gpu-programs
rm -rf "$programs" build/test-cache && mkdir -p "$programs" build/test-cache
recording() {
  CLG_RECORD_DIR="$programs" CLGRAPH_CACHE_DIR="$root/build/test-cache/$1" \
    LD_PRELOAD="$root/build/tests/libprogram_recorder.so${LD_PRELOAD:+:$LD_PRELOAD}" "${@:2}"
}
echo "== ctest on PoCL, and test_oclgrind"
(cd build && recording pocl env CLGRAPH_DEVICE="$pocl" ctest --output-on-failure -j2)
# The Python package (python/) on the library just built: installed offline
# into a throwaway venv (Debian's setuptools, wheel and numpy, no index),
# where it must find build/libclgraph.so by itself (the checkout setup.py
# recorded), then its tests on PoCL from the tree. Debian's interpreter by
# path: the packages setup.sh installs are its, and a python3 earlier on
# PATH (pyenv) may not see them.
echo "== Python package: pip install, then pytest on PoCL"
venv=$(mktemp -d)
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --no-index --no-build-isolation ./python
(cd "$venv" && env -u CLGRAPH_LIBRARY bin/python -c \
  'import clgraph, sys; print("clgraph", clgraph.__version__, "installed in", sys.prefix, "on", clgraph.library_path)')
rm -rf "$venv" python/build python/clgraph.egg-info
CLGRAPH_LIBRARY="$root/build/libclgraph.so" CLGRAPH_DEVICE="$pocl" CLGRAPH_CACHE_DIR="$root/build/test-cache/python" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests
# Intel's runtime was verified on Intel CPUs only: there a missing device
# fails the run; on another vendor's CPU the stage is skipped, loudly.
if has_platform "$intel"; then
  echo "== ctest on Intel's OpenCL CPU runtime"
  # Half the random graphs' seeds (test_random_graphs, CLGRAPH_RANDOM_SHARE):
  # PoCL runs every one; on this runtime all of them took 878 s against
  # PoCL's 265 s (2 cores, 2026-12-07), the longest test of the stage.
  # The compiler and fuzz-replay tests open no device (the PoCL stage ran
  # them): not again here.
  (cd build && recording intel env -u CLGRAPH_SAVE_BINARIES CLGRAPH_DEVICE="$intel" CLGRAPH_RANDOM_SHARE=1/2 \
    ctest --output-on-failure -j2 -LE '^(oclgrind|compiler|fuzz)$')
elif grep -q GenuineIntel /proc/cpuinfo; then
  echo "test.sh: no device of Intel's OpenCL runtime (scripts/setup.sh installs it)" >&2
  exit 1
else
  echo "== SKIPPED: Intel's OpenCL CPU runtime shows no device on this $(grep -m1 vendor_id /proc/cpuinfo | cut -d: -f2) CPU"
fi

# The installed package as an application sees it: install into a temporary
# prefix, build examples/embed/ against it with find_package (shared and
# static) and with pkg-config, run every program (each checks its results
# against the reference executor). Seconds.
echo "== install, and examples/embed built against the installed package (PoCL)"
CLGRAPH_DEVICE="$pocl" bash scripts/test_install.sh build

echo "== GPU compile check: every recorded program for gfx90a, gfx1100 and nvptx64 (OpenCL C 1.2)"
python3 scripts/gpu_compile_check.py "$programs" --report build/gpu-compile-report.md

echo "== AddressSanitizer + UBSan build (PoCL only)"
bash scripts/build.sh build-asan -DCLGRAPH_SANITIZE=ON
# Only PoCL's ICD: with Intel's runtime loaded too, LeakSanitizer's tracer
# crashes at exit ("Tracer caught signal 11") in every run that opens
# OpenCL, because the ICD loader loads every vendor's library.
export OCL_ICD_VENDORS=/etc/OpenCL/vendors/pocl.icd
export CLGRAPH_DEVICE="$pocl"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# PoCL and LLVM leak at exit by design; suppress those libraries only.
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
# LeakSanitizer's own tracer sometimes dies at exit under load ("Tracer
# caught signal 11", seen about once in a dozen runs of the PoCL tests, with
# no leak behind it). Only failures that all show that message are run
# again, at most twice; any other failure fails the run.
asan_ctest() { (cd build-asan && ctest --output-on-failure "$@"); }
tracer_only() {
  local log=build-asan/Testing/Temporary/LastTest.log failed tracer
  failed=$(grep -c "Test Failed" "$log" || true)
  tracer=$(grep -c "Tracer caught signal" "$log" || true)
  [ "$failed" -gt 0 ] && [ "$tracer" -ge "$failed" ]
}
if ! asan_ctest -j2; then
  for attempt in 1 2; do
    tracer_only || exit 1
    echo "== rerunning the test(s) that failed only in LeakSanitizer's tracer (attempt $attempt)"
    if asan_ctest --rerun-failed; then break; fi
    [ "$attempt" -eq 2 ] && exit 1
  done
fi

echo "== ThreadSanitizer build: test_threads and test_device_io (PoCL only)"
# The tests that run one context from several threads (and chain events
# across queues), built with -DCLGRAPH_SANITIZE=thread; only their targets,
# to keep the stage near a minute and a half on two cores. The OpenCL
# settings of the ASan stage above (PoCL's ICD only, CLGRAPH_DEVICE) still
# hold. The program cache of the plain stage is copied in (entries are
# checked, never trusted), so PoCL is not asked to build every program again.
cmake -S . -B build-tsan -DCLGRAPH_WERROR=ON -DCLGRAPH_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$(nproc)" --target test_threads test_device_io
mkdir -p build-tsan/program-cache
cp -r build/program-cache/. build-tsan/program-cache/ 2>/dev/null || true
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
# TSan's shadow memory needs the classic address-space layout: kernels with
# more mmap randomisation (vm.mmap_rnd_bits > 28) make it fail at start
# ("unexpected memory mapping"); setarch -R turns randomisation off for the
# run only.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then norandom=(setarch "$(uname -m)" -R); fi
(cd build-tsan && "${norandom[@]}" ctest --output-on-failure -R '^(test_threads|test_device_io)$')

echo "== fuzzing (libFuzzer + ASan + UBSan, 60 s per harness)"
bash fuzz/run.sh 60
