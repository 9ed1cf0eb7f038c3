#!/usr/bin/env bash
# Installs the Debian packages clgraph needs, only those missing, so a second
# run is instant. Must run as root on Debian 12 (or with the packages present).
set -euo pipefail

packages=(
  cmake make gcc pkg-config
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  libclblast-dev libcmocka-dev
  clblast-utils   # CLBlast's kernel tuners, which `clgraph tune` drives
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata   # ONNX import and its conformance tests
  clang-14 libclang-rt-14-dev llvm-14   # fuzz/run.sh: libFuzzer, sanitizers, llvm-symbolizer
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
