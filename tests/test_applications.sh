#!/bin/sh
# A full-size torchvision model (mobilenet_v3_small), exported at test time by
# bench/sweep_applications.py (random weights, randomised BatchNorm, dynamic
# batch, batch 3 at 64x64) and run by the clgraph CLI at -O0 and -O2 against
# PyTorch's output (error relative to the largest |output| at most 1e-4).
# The narrowed copies of more architectures are committed fixtures
# (test_pytorch_fixtures); this checks the published widths, too large to
# commit, where Debian's python3-torch, python3-torchvision and python3-numpy
# are installed, and is skipped (77) elsewhere. bench/sweep_applications.py
# runs every architecture (docs/onnx.md, "torchvision and Keras
# applications").
#
#     sh tests/test_applications.sh build/clgraph [MODEL...]
set -eu
clgraph=$1
shift
# One model by default: cold (empty program caches) it costs about 70 s of
# CPU on PoCL, export included; squeezenet1_1 and shufflenet_v2_x1_0 add
# about 45 s more (sh tests/test_applications.sh build/clgraph MODEL...).
models=${*:-mobilenet_v3_small}
py=/usr/bin/python3   # Debian's, the one python3-torch is built for
if ! "$py" -c 'import torch, torchvision, numpy' 2>/dev/null; then
  echo "test_applications: SKIPPED: $py has no torch, torchvision and numpy (apt-get install python3-torchvision)"
  exit 77
fi
dir=$(dirname "$clgraph")/applications
mkdir -p "$dir"
# (PyTorch's export warnings go to the log; a failed export fails the run below)
"$py" bench/sweep_applications.py torch "$dir" $models 2>"$dir/export.log"
dirs=
for m in $models; do dirs="$dirs torch_$m"; done
"$py" bench/sweep_applications.py run "$dir" $dirs --clgraph "$clgraph" --tolerance 1e-4
