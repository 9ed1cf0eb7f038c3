#!/usr/bin/env python3
"""NumPy (OpenBLAS) sgemm on the shapes bench_gemm times, for comparison.

Usage: openblas_gemm.py NAME:M,N,K,T ...   (T=1: B is N×K and used transposed)

Prints "gemm NAME SECONDS" per shape: the median of 5 samples, each enough
back-to-back numpy.matmul calls to last ~50 ms. bench_gemm runs this with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS picks its kernels
for the CPU itself (shared/PLATFORM.md)."""
import statistics
import sys
import time

import numpy as np


def seconds_per_call(fn):
    fn()
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, min(100000, int(0.05 / one)))
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps)
    return statistics.median(samples)


def main():
    rng = np.random.default_rng(1234)
    config = np.show_config(mode="dicts") if np.__version__ >= "1.25" else {}
    blas = config.get("Build Dependencies", {}).get("blas", {}) if config else {}
    print(f"# numpy {np.__version__}, {blas.get('name', 'blas')} {blas.get('version', '')}".rstrip())
    for arg in sys.argv[1:]:
        name, dims = arg.split(":")
        m, n, k, t = (int(v) for v in dims.split(","))
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if t else (k, n)).astype(np.float32)
        out = np.empty((m, n), dtype=np.float32)
        bt = b.T if t else b  # a transposed view: sgemm with trans, no copy
        s = seconds_per_call(lambda: np.matmul(a, bt, out=out))
        print(f"gemm {name} {s:.9f}", flush=True)


if __name__ == "__main__":
    main()
