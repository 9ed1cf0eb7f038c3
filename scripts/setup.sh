#!/usr/bin/env bash
# Installs the Debian packages clgraph needs, only those missing, and Intel's
# OpenCL CPU runtime as a second OpenCL vendor, so a second run is instant.
# Must run as root on Debian 12 (or with everything present).
set -euo pipefail

packages=(
  cmake make gcc g++ pkg-config   # g++: runtime/tune/clblast_params.cpp; pkg-config: the build and scripts/test_install.sh
  binutils      # readelf and nm: scripts/test_install.sh checks the SONAME and the exported symbols
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  libclblast-dev libcmocka-dev
  clblast-utils   # CLBlast's kernel tuners, which `clgraph tune` drives
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata   # ONNX import and its conformance tests
  clang-14 libclang-rt-14-dev llvm-14   # fuzz/run.sh: libFuzzer, sanitizers, llvm-symbolizer
  oclgrind      # tests/test_oclgrind.sh: races, uninitialised values, GPU-like limits
  clang-16 llvm-16 rocm-device-libs   # scripts/gpu_compile_check.py: kernels built for AMD/NVIDIA GPUs
  python3-pip   # downloads Intel's OpenCL runtime wheels (below)
  python3-numpy python3-pytest python3-torch python3-venv   # python/: the package's tests (from_torch
                                                            # needs torch) and its pip install check
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages and not root; install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- Intel's OpenCL CPU runtime: a second vendor's OpenCL C compiler and
# driver on the same CPU, so CI runs every test on two implementations. Its
# PyPI wheels are unpacked into a prefix of clgraph's own (pip installs
# nothing), and an .icd file registers it with Debian's ICD loader. The
# wheel's own libOpenCL.so* stays out: Debian's loader must remain the one
# that applications link. Pinned to the versions verified with clgraph.
intel_prefix=/opt/clgraph/intel-opencl
intel_icd=/etc/OpenCL/vendors/clgraph-intel-cpu.icd
intel_wheels=(intel-opencl-rt==2026.2.0 tbb==2023.2.0 intel-cmplr-lib-rt==2026.2.0)
# No ld.so.conf entry and no LD_LIBRARY_PATH: every library goes into one
# directory, and libintelocl.so (RUNPATH $ORIGIN) and the compiler runtime
# (RUNPATH $ORIGIN/../lib) find their dependencies there by themselves.
# Putting that directory on the global search path would let the wheels'
# libtbb.so.12 and libimf.so shadow Debian's copies for every program.
if [ "$(cat "$intel_prefix/.installed" 2>/dev/null)" != "${intel_wheels[*]}" ]; then
  echo "setup: installing Intel's OpenCL CPU runtime (${intel_wheels[*]}) into $intel_prefix"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: Intel's OpenCL runtime is missing and not root" >&2
    exit 1
  fi
  wheels=$(mktemp -d)
  trap 'rm -rf "$wheels"' EXIT
  python3 -m pip download -q --no-deps --no-cache-dir --only-binary=:all: -d "$wheels" "${intel_wheels[@]}"
  rm -rf "$intel_prefix.new"
  mkdir -p "$intel_prefix.new/lib"
  # The wheels store each library's symlinks as full copies (libintelocl.so
  # and libcommon_clang.so are 100-200 MB each): keep one file per content
  # and make its other names symlinks to it.
  python3 - "$intel_prefix.new/lib" "$wheels"/*.whl <<'PY'
import os, sys, zipfile
dest, wheels = sys.argv[1], sys.argv[2:]
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        by_content = {}
        for m in z.infolist():
            parts = m.filename.split("/")
            if len(parts) != 4 or parts[1:3] != ["data", "lib"] or not parts[3]:
                continue
            name = parts[3]
            if name.startswith("libOpenCL.so") or name == "icx-lto.so":  # the loader; icx's LTO plugin
                continue
            by_content.setdefault((m.file_size, m.CRC), []).append((name, m))
        for names in by_content.values():
            names.sort(key=lambda n: (-len(n[0]), n[0]))  # the longest name is the real file
            real, member = names[0]
            with z.open(member) as src, open(os.path.join(dest, real), "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            for alias, _ in names[1:]:
                os.symlink(real, os.path.join(dest, alias))
PY
  rm -rf "$intel_prefix"
  mv "$intel_prefix.new" "$intel_prefix"
  echo "${intel_wheels[*]}" >"$intel_prefix/.installed"
  rm -rf "$wheels"
  trap - EXIT
fi
if [ "$(cat "$intel_icd" 2>/dev/null)" != "$intel_prefix/lib/libintelocl.so" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "setup: $intel_icd is missing and not root" >&2; exit 1; }
  mkdir -p "$(dirname "$intel_icd")"
  echo "$intel_prefix/lib/libintelocl.so" >"$intel_icd"
fi
