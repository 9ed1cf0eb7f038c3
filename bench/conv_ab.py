#!/usr/bin/env python3
"""Two clgraph builds side by side, interleaved process by process, so machine
load hits both alike (bench/README.md "Implicit GEMM: interior tiles").

    bench/conv_ab.py shapes BASE_CLGRAPH NEW_CLGRAPH [--rounds R] [--gemm generated:p8x32i,...] [--only NAME,...]
    bench/conv_ab.py models BASE_CLGRAPH NEW_CLGRAPH --ort PYTHON [--rounds R] MODEL.onnx:BATCH ...

shapes: bench/conv_paths.c's convolutions (bias and a Relu epilogue) as
one-node graphs, each through each forced GEMM path with `clgraph bench
--profile`; prints the conv node's device time (min and median over the
rounds) and GFLOP/s. models: `clgraph bench` median latency of each model
beside ONNX Runtime (PYTHON must import onnxruntime; best of 1 and 2
threads, median of 20 calls), engines in a new random order each round;
each build keeps its own cache directory (its own GEMM choices). Run with
CLGRAPH_DEVICE naming the device."""
import argparse, os, random, re, statistics, subprocess, sys, tempfile

SHAPES = [  # name, batch, C, H, W, M, k, stride, pad (bench/conv_paths.c's cases)
    ('keras 32x32', 32, 32, 32, 32, 32, 3, 1, 1), ('stem', 16, 3, 64, 64, 64, 7, 2, 3),
    ('layer1', 16, 64, 16, 16, 64, 3, 1, 1), ('layer2.0', 16, 64, 16, 16, 128, 3, 2, 1),
    ('layer2', 16, 128, 8, 8, 128, 3, 1, 1), ('layer3', 16, 256, 4, 4, 256, 3, 1, 1),
    ('1x1 s2', 16, 64, 16, 16, 128, 1, 2, 0), ('1x1', 16, 64, 16, 16, 64, 1, 1, 0),
    ('layer4', 16, 512, 2, 2, 512, 3, 1, 1),
    ('224 b1', 1, 64, 56, 56, 64, 3, 1, 1), ('28x28 b1', 1, 128, 28, 28, 128, 3, 1, 1),
    ('14x14 b1', 1, 256, 14, 14, 256, 3, 1, 1), ('7x7 b1', 1, 512, 7, 7, 512, 3, 1, 1),
    # short kernels (about 1 ms), which a loaded machine stretches least
    ('keras b4', 4, 32, 32, 32, 32, 3, 1, 1), ('layer1 b4', 4, 64, 16, 16, 64, 3, 1, 1)]

ORT = r'''
import sys, time, statistics, numpy as np, onnxruntime as ort
model, batch = sys.argv[1], int(sys.argv[2])
best = None
for threads in (1, 2):
    so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
    s = ort.InferenceSession(model, so, providers=['CPUExecutionProvider'])
    i = s.get_inputs()[0]
    x = np.random.default_rng(0).uniform(-1, 1, [batch] + list(i.shape[1:])).astype(np.float32)
    for _ in range(3): s.run(None, {i.name: x})
    ts = []
    for _ in range(20):
        t0 = time.perf_counter(); s.run(None, {i.name: x}); ts.append(time.perf_counter() - t0)
    best = min(best or 1e30, statistics.median(ts) * 1e3)
print(best)
'''


def load():
    return float(open('/proc/loadavg').read().split()[0])


def chosen(a):
    return [x for x in SHAPES if not a.only or x[0] in a.only.split(',')]


def shapes(a, tmp):
    res, loads = {}, []
    for r in range(a.rounds):
        for name, b, c, h, w, m, k, s, p in chosen(a):
            path = os.path.join(tmp, 'conv.clg')
            with open(path, 'w') as f:
                f.write(f'input x: f32[N, {c}, {h}, {w}]\nconst w: f32[{m}, {c}, {k}, {k}] = random(1, -0.1, 0.1)\n'
                        f'const b: f32[{m}] = random(2, -0.1, 0.1)\ny = Conv2D(x, w, b) strides=[{s}, {s}] '
                        f'pads=[{p}, {p}, {p}, {p}] epilogue="relu(x0)"\noutput y\n')
            for gemm in a.gemm.split(','):
                for which, exe in (('base', a.base), ('new', a.new)):
                    out = subprocess.run([exe, 'bench', path, '--batch', str(b), '--iters', '10', '--gemm', gemm,
                                          '--profile', '--cache-dir', ''], capture_output=True, text=True).stdout
                    t = re.search(r'^\s+([\d.]+)\s+total device time', out, re.M)
                    res.setdefault((name, gemm, which), []).append(float(t.group(1)) if t else float('nan'))
                    loads.append(load())
    print(f'load average (1 min) {min(loads):.1f}-{max(loads):.1f}')
    for name, b, c, h, w, m, k, s, p in chosen(a):
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        flops = 2 * b * m * oh * ow * c * k * k
        for gemm in a.gemm.split(','):
            cells = []
            for which in ('base', 'new'):
                v = res[(name, gemm, which)]
                cells.append(f'{min(v):.2f} ms ({flops / min(v) / 1e6:.1f}) med {statistics.median(v):.2f}')
            ratio = min(res[(name, gemm, 'new')]) / min(res[(name, gemm, 'base')])
            print(f'| {name} {b},{c},{h},{w} -> {m}, {k}, {s}, {p} | {gemm} | {cells[0]} | {cells[1]} | {ratio:.2f} |')


def models(a, tmp):
    res, loads = {}, []
    ort = os.path.join(tmp, 'ort.py')
    with open(ort, 'w') as f:
        f.write(ORT)
    engines = {'base': lambda m, b: [a.base, 'bench', m, '--batch', b, '--iters', '20', '--cache-dir',
                                     os.path.join(tmp, 'cache-base')],
               'new': lambda m, b: [a.new, 'bench', m, '--batch', b, '--iters', '20', '--cache-dir',
                                    os.path.join(tmp, 'cache-new')],
               'ort': lambda m, b: [a.ort, ort, m, b]}
    specs = [s.rsplit(':', 1) for s in a.specs]
    for m, b in specs:  # the GEMM choices, measured once per build, untimed
        for e in ('base', 'new'):
            subprocess.run(engines[e](m, b)[:5] + ['--iters', '1', '--cache-dir', engines[e](m, b)[-1]],
                           capture_output=True)
    for r in range(a.rounds):
        for m, b in specs:
            order = list(engines)
            random.shuffle(order)
            for e in order:
                out = subprocess.run(engines[e](m, b), capture_output=True, text=True).stdout
                if e == 'ort':
                    v = float(out.split()[0])
                else:
                    t = re.search(r'latency:\s+median ([\d.]+) ms', out)
                    v = float(t.group(1)) if t else float('nan')
                res.setdefault((m, b, e), []).append(v)  # one model may come at several batches
                loads.append(load())
    print(f'load average (1 min) {min(loads):.1f}-{max(loads):.1f}')
    for m, b in specs:
        med = {e: statistics.median(res[(m, b, e)]) for e in engines}
        print(f'| {os.path.basename(m)} | {b} | {med["base"]:.1f} ms | {med["new"]:.1f} ms | {med["ort"]:.1f} ms | '
              f'{med["base"] / med["ort"]:.2f} | {med["new"] / med["ort"]:.2f} |  runs: ' +
              ', '.join(f'{e} {res[(m, b, e)]}' for e in engines))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['shapes', 'models'])
    p.add_argument('base')
    p.add_argument('new')
    p.add_argument('specs', nargs='*')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--gemm', default='generated:p8x32i,generated:p4x64i')
    p.add_argument('--ort', default=sys.executable)
    p.add_argument('--only', default='', help='shapes: these names only (comma-separated)')
    a = p.parse_intermixed_args()
    with tempfile.TemporaryDirectory() as tmp:
        (shapes if a.mode == 'shapes' else models)(a, tmp)


if __name__ == '__main__':
    main()
