#!/usr/bin/env python3
"""The standard model collections of PyTorch and Keras through clgraph.

Exports torchvision's classification models (torch.onnx, dynamic batch) and
Keras' applications (tf2onnx, dynamic batch), each with random weights and
randomised BatchNorm statistics and affine parameters (so a BatchNorm that is
dropped, or folded with the wrong epsilon, shows), at a small input; then
runs every exported model with `clgraph run` at -O0 and -O2 and compares with
the framework's own output. The error is max |clgraph - framework| / max
|framework| over the output (tests/test_pytorch_fixtures.c's measure).

Three steps, each with the Python that has its framework:

    /usr/bin/python3     bench/sweep_applications.py torch DIR [MODEL...]  # Debian's torch 1.13, torchvision 0.14
    /tmp/tfenv/bin/python bench/sweep_applications.py keras DIR [MODEL...]  # tensorflow + tf2onnx (PyPI venv)
    python3              bench/sweep_applications.py run DIR [FRAMEWORK_MODEL...] [--clgraph build/clgraph] [--device SPEC] [--levels 0,2]

`torch` and `keras` write DIR/<framework>_<model>/{model.onnx,input.npy,
output.npy} (or export_error.txt when the framework cannot export it); `run`
needs only NumPy and prints a Markdown table: model, result at each level
(the error, or clgraph's first error line), and the ONNX ops the model uses.
Models are 5-110 MB each: DIR belongs outside the repository.
"""
import argparse
import os
import subprocess
import sys
import time
import traceback

import numpy as np

BATCH = 3  # odd, so that no grid of batch x something is a power of two by luck

# name: (constructor arguments, input H = W). 64x64 unless a model needs
# more (inception_v3: 75; Xception: 71).
TORCH_MODELS = {
    'resnet18': ({}, 64),
    'resnet50': ({}, 64),
    'resnext50_32x4d': ({}, 64),
    'wide_resnet50_2': ({}, 64),
    'mobilenet_v2': ({}, 64),
    'mobilenet_v3_small': ({}, 64),
    'mobilenet_v3_large': ({}, 64),
    'mnasnet0_5': ({}, 64),
    'efficientnet_b0': ({}, 64),
    'efficientnet_v2_s': ({}, 64),
    'regnet_y_400mf': ({}, 64),
    'regnet_x_400mf': ({}, 64),
    'squeezenet1_1': ({}, 64),
    'densenet121': ({}, 64),
    'shufflenet_v2_x1_0': ({}, 64),
    'convnext_tiny': ({}, 64),
    'googlenet': ({'aux_logits': False, 'init_weights': True}, 64),
    'inception_v3': ({'aux_logits': False, 'init_weights': True}, 75),
    'alexnet': ({}, 224),  # its adaptive pool to 6x6 exports only from a 6x6 map
    'vgg11_bn': ({}, 224),  # the same for its pool to 7x7
    'vit_b_16': ({'image_size': 64}, 64),
    'swin_t': ({}, 64),
}

KERAS_MODELS = {
    'ResNet50': 64,
    'ResNet50V2': 64,
    'MobileNet': 64,
    'MobileNetV2': 64,
    'MobileNetV3Small': 64,
    'MobileNetV3Large': 64,
    'EfficientNetB0': 64,
    'EfficientNetV2B0': 64,
    'DenseNet121': 64,
    'ConvNeXtTiny': 64,
    'Xception': 71,
    'InceptionV3': 75,
    'NASNetMobile': 64,
    'EfficientNetV2S': 64,
    'DenseNet169': 64,
    'ResNet101V2': 64,
}


def save_pair(d, x, y):
    np.save(os.path.join(d, 'input.npy'), np.ascontiguousarray(x, dtype=np.float32))
    np.save(os.path.join(d, 'output.npy'), np.ascontiguousarray(y, dtype=np.float32))


# ---------------------------------------------------------------- PyTorch

def torch_randomise(model, gen):
    """BatchNorm statistics and affine parameters, LayerNorm affine
    parameters and ConvNeXt's layer scales (1e-6 at init, which would hide
    every block) drawn at random; weights initialised to zero (ViT's head)
    drawn too, or the output would be zero whatever clgraph computes."""
    import torch
    import torch.nn as nn
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                c = m.num_features
                m.running_mean.copy_(torch.empty(c).uniform_(-0.5, 0.5, generator=gen))
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 2.0, generator=gen))
                if m.affine:
                    m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))
                    m.bias.copy_(torch.empty(c).uniform_(-0.2, 0.2, generator=gen))
            elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.empty(m.weight.shape).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.empty(m.bias.shape).uniform_(-0.2, 0.2, generator=gen))
        for name, p in model.named_parameters():
            if name.endswith('layer_scale'):
                p.copy_(torch.empty(p.shape).uniform_(0.5, 1.5, generator=gen))
            elif p.dim() >= 2 and not p.any():  # zero-initialised (ViT's head): an all-zero output
                p.copy_(torch.empty(p.shape).normal_(0, 0.02, generator=gen))


def export_torch(name, kwargs, size, d, seed, opset=13):
    import torch
    import torchvision
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    model = getattr(torchvision.models, name)(weights=None, **kwargs)
    torch_randomise(model, gen)
    model.eval()
    x = torch.rand((BATCH, 3, size, size), generator=gen) * 2 - 1
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(d, 'model.onnx'), opset_version=opset, input_names=['x'],
                      output_names=['y'], dynamic_axes={'x': {0: 'N'}, 'y': {0: 'N'}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    save_pair(d, x.numpy(), y.numpy())


# ---------------------------------------------------------------- Keras

def keras_randomise(model, rng):
    import tensorflow as tf
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            c = layer.moving_mean.shape
            layer.moving_mean.assign(rng.uniform(-0.5, 0.5, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, c).astype(np.float32))
            if layer.gamma is not None:
                layer.gamma.assign(rng.uniform(0.5, 1.5, c).astype(np.float32))
            if layer.beta is not None:
                layer.beta.assign(rng.uniform(-0.2, 0.2, c).astype(np.float32))
        elif isinstance(layer, tf.keras.layers.LayerNormalization):
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape).astype(np.float32))
            layer.beta.assign(rng.uniform(-0.2, 0.2, layer.beta.shape).astype(np.float32))
        elif type(layer).__name__ == 'LayerScale':  # ConvNeXt's, 1e-6 at init
            for w in layer.weights:
                w.assign(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))


def export_keras(name, size, d, seed, opset=15):
    import tensorflow as tf
    import tf2onnx
    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    # logits, as torchvision's: a softmax would hide errors below its largest probability
    model = getattr(tf.keras.applications, name)(weights=None, input_shape=(size, size, 3), classifier_activation=None)
    keras_randomise(model, rng)
    x = rng.uniform(0, 1, (BATCH, size, size, 3)).astype(np.float32)
    y = model(x, training=False).numpy()
    spec = (tf.TensorSpec((None, size, size, 3), tf.float32, name='x'),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset, output_path=os.path.join(d, 'model.onnx'))
    save_pair(d, x, y)


# ---------------------------------------------------------------- run

def export_all(framework, out, names):
    table = TORCH_MODELS if framework == 'torch' else KERAS_MODELS
    for i, name in enumerate(table):
        if names and name not in names:
            continue
        d = os.path.join(out, f'{framework}_{name}')
        os.makedirs(d, exist_ok=True)
        for f in ('model.onnx', 'input.npy', 'output.npy', 'export_error.txt'):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
        t = time.time()
        try:
            if framework == 'torch':
                export_torch(name, *table[name], d, seed=100 + i)
            else:
                export_keras(name, table[name], d, seed=100 + i)
            mb = os.path.getsize(os.path.join(d, 'model.onnx')) / 1e6
            print(f'{framework} {name}: exported, {mb:.1f} MB, {time.time() - t:.0f} s', flush=True)
        except Exception:  # the table records it; the sweep goes on
            with open(os.path.join(d, 'export_error.txt'), 'w') as f:
                f.write(traceback.format_exc())
            print(f'{framework} {name}: export failed: {traceback.format_exc().splitlines()[-1]}', flush=True)


def onnx_ops(path):
    """The op types of a model, without the onnx package: every NodeProto's
    op_type is field 4 of a node (field 1 of GraphProto, field 7 of
    ModelProto); a small protobuf walk is enough."""
    def fields(buf, start, end):
        i = start
        while i < end:
            key, i = varint(buf, i)
            tag, wire = key >> 3, key & 7
            if wire == 0:
                _, i = varint(buf, i)
            elif wire == 1:
                i += 8
            elif wire == 5:
                i += 4
            elif wire == 2:
                n, i = varint(buf, i)
                yield tag, i, i + n
                i += n
            else:
                return

    def varint(buf, i):
        v = s = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7f) << s
            s += 7
            if b < 0x80:
                return v, i

    with open(path, 'rb') as f:
        buf = f.read()
    ops = set()
    for tag, a, b in fields(buf, 0, len(buf)):
        if tag != 7:
            continue
        for gtag, ga, gb in fields(buf, a, b):
            if gtag != 1:
                continue
            for ntag, na, nb in fields(buf, ga, gb):
                if ntag == 4:
                    ops.add(buf[na:nb].decode())
    return sorted(ops)


def run_one(clgraph, device, d, level, timeout):
    out = os.path.join(d, f'clgraph_O{level}.npy')
    if os.path.exists(out):
        os.remove(out)
    cmd = [clgraph, 'run', os.path.join(d, 'model.onnx'), '--input', os.path.join(d, 'input.npy'),
           '--output', out, f'-O{level}', '--device', device]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f'timed out after {timeout} s', time.time() - t
    if p.returncode != 0:
        lines = [l for l in (p.stderr + p.stdout).splitlines() if l.strip()]
        return None, lines[0] if lines else f'exit status {p.returncode}', time.time() - t
    got = np.load(out)
    want = np.load(os.path.join(d, 'output.npy'))
    if got.shape != want.shape:
        return None, f'output shape {got.shape}, the framework\'s {want.shape}', time.time() - t
    if not np.abs(want).max() > 0:
        return None, "the framework's output is all zero: nothing to compare", time.time() - t
    diff = np.abs(got.astype(np.float64) - want)
    err = np.inf if np.isnan(diff).any() else diff.max() / max(np.abs(want).max(), 1e-6)
    return err, None, time.time() - t


def run_all(out, clgraph, device, levels, timeout, tol, only):
    rows = []
    bad = 0
    for entry in sorted(os.listdir(out)):
        d = os.path.join(out, entry)
        if not os.path.isdir(d) or '_' not in entry or (only and entry not in only):
            continue
        framework, name = entry.split('_', 1)
        cells = []
        if os.path.exists(os.path.join(d, 'export_error.txt')):
            with open(os.path.join(d, 'export_error.txt')) as f:
                last = [l for l in f.read().splitlines() if l.strip()][-1]
            cells = ['export failed: ' + last] * len(levels)
            ops = ''
            bad += 1
        else:
            ops = ', '.join(onnx_ops(os.path.join(d, 'model.onnx')))
            for level in levels:
                err, msg, secs = run_one(clgraph, device, d, level, timeout)
                if msg is not None:
                    cells.append('error: ' + msg.replace('|', '\\|'))
                    bad += 1
                else:
                    cells.append(f'{err:.2e}' + ('' if err <= tol else ' (over tolerance)'))
                    bad += not err <= tol
                print(f'{framework} {name} -O{level}: {cells[-1]} ({secs:.0f} s)', file=sys.stderr, flush=True)
        x = np.load(os.path.join(d, 'input.npy')) if os.path.exists(os.path.join(d, 'input.npy')) else None
        size = 'x'.join(str(v) for v in x.shape) if x is not None else ''
        rows.append((framework, name, size, cells, ops))
    print('| framework | model | input | ' + ' | '.join(f'-O{l}' for l in levels) + ' | ONNX ops |')
    print('| --- | --- | --- | ' + ' | '.join('---' for _ in levels) + ' | --- |')
    for framework, name, size, cells, ops in rows:
        print(f'| {framework} | {name} | {size} | ' + ' | '.join(cells) + f' | {ops} |')
    return bad


def ort_latency(path, batch, threads, iters):
    """ORT's median latency (seconds) of one call on a random input at
    `batch`, `threads` intra-op threads, spinning off (clgraph's calls wait
    without spinning too)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.add_session_config_entry('session.intra_op.allow_spinning', '0')
    s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
    i = s.get_inputs()[0]
    shape = [batch] + [d if isinstance(d, int) else batch for d in i.shape[1:]]
    x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    for _ in range(3):
        s.run(None, {i.name: x})
    t = []
    for _ in range(iters):
        a = time.perf_counter()
        s.run(None, {i.name: x})
        t.append(time.perf_counter() - a)
    return float(np.median(t))


def clgraph_latency(clgraph, device, path, batch, iters):
    """clgraph bench's median latency (seconds), or its first error line."""
    p = subprocess.run([clgraph, 'bench', path, '--batch', str(batch), '--device', device, '--iters', str(iters),
                        '--json'], capture_output=True, text=True)
    if p.returncode != 0:
        lines = [l for l in (p.stderr + p.stdout).splitlines() if l.strip()]
        return None, lines[0] if lines else f'exit status {p.returncode}'
    import json
    return json.loads(p.stdout)['latency_ms_median'] / 1e3, None


def speed_all(out, clgraph, devices, batches, rounds, iters, only):
    """Each model's call against ONNX Runtime's, interleaved: per round a new
    random order of the engines (ORT at 1 and at 2 threads, clgraph on each
    device), each engine's median of `iters` calls; the table takes each
    engine's best round (the machine is shared) and ORT's better thread
    count, and gives clgraph / ORT."""
    import random
    rng = random.Random(0)
    rows = []
    for entry in sorted(os.listdir(out)):
        d = os.path.join(out, entry)
        path = os.path.join(d, 'model.onnx')
        if not os.path.isdir(d) or '_' not in entry or (only and entry not in only) or not os.path.exists(path):
            continue
        for batch in batches:
            best, errors = {}, {}
            engines = [('ort', 1), ('ort', 2)] + [('clg', dev) for dev in devices]
            for _ in range(rounds):
                rng.shuffle(engines)
                for kind, arg in engines:
                    if (kind, arg) in errors:
                        continue
                    if kind == 'ort':
                        t, msg = ort_latency(path, batch, arg, iters), None
                    else:
                        t, msg = clgraph_latency(clgraph, arg, path, batch, iters)
                    if msg is not None:
                        errors[(kind, arg)] = msg
                    else:
                        best[(kind, arg)] = min(best.get((kind, arg), t), t)
            ort_t = min(best[('ort', 1)], best[('ort', 2)])
            ort_n = 1 if best[('ort', 1)] <= best[('ort', 2)] else 2
            cells = []
            for dev in devices:
                if ('clg', dev) in errors:
                    cells += ['error: ' + errors[('clg', dev)].replace('|', '\\|'), '']
                else:
                    t = best[('clg', dev)]
                    cells += [f'{t * 1e3:.3f} ms', f'{t / ort_t:.2f}']
            rows.append((entry, batch, f'{ort_t * 1e3:.3f} ms ({ort_n})', cells))
            print(entry, batch, rows[-1][2], cells, file=sys.stderr, flush=True)
    print('| model | batch | ORT (threads) | ' + ' | '.join(f'clgraph {dev} | /ORT' for dev in devices) + ' |')
    print('| --- | --- | --- | ' + ' | '.join('--- | ---' for _ in devices) + ' |')
    for entry, batch, ort_cell, cells in rows:
        print(f'| {entry} | {batch} | {ort_cell} | ' + ' | '.join(cells) + ' |')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    for fw in ('torch', 'keras'):
        p = sub.add_parser(fw)
        p.add_argument('dir')
        p.add_argument('models', nargs='*')
    p = sub.add_parser('run')
    p.add_argument('dir')
    p.add_argument('models', nargs='*', help='FRAMEWORK_MODEL directories of DIR (default: all)')
    p.add_argument('--clgraph', default='build/clgraph')
    p.add_argument('--device', default=os.environ.get('CLGRAPH_DEVICE') or 'pthread',
                   help="clgraph's --device (default: CLGRAPH_DEVICE, else PoCL's CPU device)")
    p.add_argument('--levels', default='0,2')
    p.add_argument('--timeout', type=int, default=900, help='seconds per clgraph run')
    p.add_argument('--tolerance', type=float, default=1e-4)
    p = sub.add_parser('speed', help="each model's call time against ONNX Runtime's (needs onnxruntime)")
    p.add_argument('dir')
    p.add_argument('models', nargs='*', help='FRAMEWORK_MODEL directories of DIR (default: all)')
    p.add_argument('--clgraph', default='build/clgraph')
    p.add_argument('--devices', default='0,1', help="clgraph --device specs, comma-separated")
    p.add_argument('--batches', default='1,16')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--iters', type=int, default=20)
    a = ap.parse_args()
    if a.cmd == 'speed':
        speed_all(a.dir, a.clgraph, a.devices.split(','), [int(v) for v in a.batches.split(',')], a.rounds, a.iters,
                  a.models)
        return
    if a.cmd == 'run':
        bad = run_all(a.dir, a.clgraph, a.device, [int(v) for v in a.levels.split(',')], a.timeout, a.tolerance, a.models)
        sys.exit(1 if bad else 0)
    export_all(a.cmd, a.dir, a.models)


if __name__ == '__main__':
    main()
