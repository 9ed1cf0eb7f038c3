#!/usr/bin/env python3
"""clgraph against ONNX Runtime and PyTorch on the same ONNX files.

Run through bench/run, which installs what this needs (bench/.venv with ONNX
Runtime, NumPy and matplotlib from PyPI, seeing Debian's python3-torch) and
builds clgraph. What it measures, per model and batch:

  - clgraph -O2 on the default device (and on every --device), clgraph -O0,
    through libclgraph (ctypes): wall time of one clg_model_run, inputs and
    outputs in host memory;
  - ONNX Runtime (CPU EP, ORT_ENABLE_ALL) and PyTorch (eval,
    inference_mode), each at 1 thread and at `cores` threads;
  - engines interleaved call by call (the order rotates every round), median
    of --iters timed rounds after --warmup rounds; all outputs compared;
  - the GEMM floor: every Gemm/MatMul/Conv shape of the model as a one-node
    ONNX graph through `clgraph bench --json` (median), summed per model;
  - NumPy matmul (OpenBLAS) on the largest GEMM shape, in GFLOP/s;
  - start-up (process start to first result), cold and warm.

Writes bench/results/<host>-<date>.{json,md,png} and refreshes the marked
section of bench/README.md.
"""
import argparse
import collections
import contextlib
import ctypes
import datetime
import io
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# Before torch loads libgomp: OpenMP threads that spin after a parallel region
# steal the shared cores from whichever engine runs next (on this 2-core
# machine they made every engine after PyTorch 2-5x slower).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

# Before torch loads Debian's libtbb.so.12 (2021.8): the ICD loader opens
# every vendor's driver at the first clGetPlatformIDs, and Intel's OpenCL
# runtime needs the newer libtbb.so.12 it ships. Loaded after torch, the
# runtime fails on a missing TBB symbol and the ICD loader drops it
# silently, so clgraph would run on PoCL while the report named Intel's
# device (every bench/run before this fix did).
def _open_opencl_platforms():
    try:
        cl = ctypes.CDLL('libOpenCL.so.1')
        cl.clGetPlatformIDs(0, None, ctypes.byref(ctypes.c_uint()))
    except OSError:
        pass   # no ICD loader: clgraph's own error says so later


_open_opencl_platforms()

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures')
BUILD = os.path.join(ROOT, os.environ.get('BENCH_BUILD_DIR', 'build'))
CLGRAPH = os.path.join(BUILD, 'clgraph')
LIB = os.path.join(BUILD, 'libclgraph.so')
CORES = os.cpu_count() or 1

# (model, batches): the model set. A model is a fixture of
# tests/fixtures/make_fixtures.py or one of BUILT.
MODELS = [('example_mlp', [1, 64, 1024]), ('residual_mlp24', [64]), ('resnet18_narrow', [1, 16]),
          ('encoder_gelu_256', [1, 8]), ('tv_resnet18_64', [1, 16]), ('tv_mobilenet_v2_64', [1, 16]),
          ('cifar_resnet20', [1, 32])]


def encoder_gelu_256():
    # dropout is inactive in eval mode; PyTorch's own inference runs its fast path.
    return torch.nn.TransformerEncoderLayer(256, 4, 1024, activation='gelu', batch_first=True)


def tv_resnet18_64():
    import torchvision
    return torchvision.models.resnet18(num_classes=100)


def tv_mobilenet_v2_64():
    import torchvision
    return torchvision.models.mobilenet_v2(num_classes=100)


class _CifarBlock(torch.nn.Module):
    """A basic residual block of He et al.'s CIFAR-10 ResNets: two 3x3
    convolutions with BatchNorm, a 1x1 projection where the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        nn = torch.nn
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (x if self.sc is None else self.sc(x)))


def cifar_resnet20():
    """ResNet-20 for 32x32 images: 16, 32 and 64 channels, three blocks each,
    BatchNorm statistics drawn at random so that folding them matters."""
    nn = torch.nn
    layers, cin = [], 16
    for cout, stride in [(16, 1), (32, 2), (64, 2)]:
        for i in range(3):
            layers.append(_CifarBlock(cin, cout, stride if i == 0 else 1))
            cin = cout
    model = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), *layers,
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model


# Models built and exported when the benchmark runs (random weights from a
# fixed seed, eval mode), so their weights (~3 MB each) are never committed:
# name: (constructor, input shape after the batch, {symbol: size} of the
# input's other symbolic dims, opset, the input's dynamic axes).
BUILT = {
    'encoder_gelu_256': (encoder_gelu_256, (128, 256), {'S': 128}, 17, {0: 'N', 1: 'S'}),
    'tv_resnet18_64': (tv_resnet18_64, (3, 64, 64), {}, 13, {0: 'N'}),
    'tv_mobilenet_v2_64': (tv_mobilenet_v2_64, (3, 64, 64), {}, 13, {0: 'N'}),
    'cifar_resnet20': (cifar_resnet20, (3, 32, 32), {}, 13, {0: 'N'}),
}
ABOUT = {
    'encoder_gelu_256': "`nn.TransformerEncoderLayer(256, 4, 1024, activation='gelu', batch_first=True)` "
                        '(post-norm), random weights (seed 200), eval mode, exported by `bench/run` itself at opset 17 '
                        'with a dynamic batch N and sequence S; inputs [batch, 128, 256], clgraph given S = 128 '
                        '(`--dim S=128`); PyTorch runs its own inference fast path',
    'tv_resnet18_64': 'torchvision `resnet18(num_classes=100)` (the convolution issue\'s row), random weights, '
                      'eval mode, 64x64 inputs, exported by `bench/run` at opset 13 with a dynamic batch',
    'tv_mobilenet_v2_64': 'torchvision `mobilenet_v2(num_classes=100)` (depthwise convolutions, ReLU6), random '
                          'weights, eval mode, 64x64 inputs, exported by `bench/run` at opset 13 with a dynamic batch',
    'cifar_resnet20': 'ResNet-20 for CIFAR-10 (He et al. 2016: 3x3 convolutions of 16, 32 and 64 channels on '
                      '32x32, 16x16 and 8x8 images, BatchNorm, 1x1 projections), random weights and BatchNorm '
                      'statistics, eval mode, 32x32 inputs, exported by `bench/run` at opset 13 with a dynamic batch',
}

sys.path.insert(0, FIXTURES)
import make_fixtures  # noqa: E402  (the fixtures' model definitions and seeds)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ------------------------------------------------------------------ clgraph

def _max_rank():
    """CLG_MAX_RANK of this tree's header (clg_tensor's dims array: 5 before
    ranks up to 8), which the library in BUILD was built from."""
    with open(os.path.join(ROOT, 'include', 'clgraph.h')) as f:
        m = re.search(r'#define CLG_MAX_RANK (\d+)', f.read())
    return int(m.group(1)) if m else 5


MAX_RANK = _max_rank()


class Tensor(ctypes.Structure):
    """clg_tensor. dtype (0: CLG_DTYPE_F32) is its last field since typed
    tensors; a library from before them never reads it."""
    _fields_ = [('data', ctypes.POINTER(ctypes.c_float)), ('rank', ctypes.c_int),
                ('dims', ctypes.c_int64 * MAX_RANK), ('dtype', ctypes.c_int)]


class ModelOptions(ctypes.Structure):
    """clg_model_options: struct_size first since clg_context_create_ex exists."""
    _fields_ = [('struct_size', ctypes.c_size_t), ('opt_level', ctypes.c_int)]


class ModelOptionsUnsized(ctypes.Structure):
    """clg_model_options of the libraries before it had struct_size."""
    _fields_ = [('opt_level', ctypes.c_int)]


class DeviceInfo(ctypes.Structure):
    """clg_device_info's leading fields (the rest is room to spare)."""
    _fields_ = [('index', ctypes.c_int), ('platform_index', ctypes.c_int), ('device_index', ctypes.c_int),
                ('platform', ctypes.c_char * 128), ('name', ctypes.c_char * 128), ('rest', ctypes.c_char * 4096)]


class Clgraph:
    """One compiled model in one context, driven through libclgraph."""
    lib = None

    def __init__(self, path, device, opt_level):
        if Clgraph.lib is None:
            lib = ctypes.CDLL(LIB)
            lib.clg_graph_errmsg.restype = ctypes.c_char_p
            lib.clg_context_errmsg.restype = ctypes.c_char_p
            lib.clg_model_errmsg.restype = ctypes.c_char_p
            Clgraph.lib = lib
        lib = self.lib
        self.g, self.ctx, self.m = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        if lib.clg_graph_create(ctypes.byref(self.g), None, None):
            raise RuntimeError('clg_graph_create')
        if lib.clg_graph_load(self.g, path.encode()):
            raise RuntimeError(lib.clg_graph_errmsg(self.g).decode())
        if lib.clg_context_create(ctypes.byref(self.ctx), device.encode() if device else None, 0, None, None):
            raise RuntimeError(lib.clg_context_errmsg(self.ctx).decode())
        if hasattr(lib, 'clg_context_create_ex'):
            opts = ModelOptions(ctypes.sizeof(ModelOptions), opt_level)
            errmsg = lambda: lib.clg_model_errmsg(self.m)  # noqa: E731
        else:
            opts = ModelOptionsUnsized(opt_level)
            errmsg = lambda: lib.clg_context_errmsg(self.ctx)  # noqa: E731
        if lib.clg_model_create_ex(ctypes.byref(self.m), self.ctx, self.g, ctypes.byref(opts)):
            raise RuntimeError(errmsg().decode())
        self.shape = None
        info = DeviceInfo()
        self.device = (f'{info.name.decode()} ({info.platform.decode()})'
                       if hasattr(lib, 'clg_context_device') and lib.clg_context_device(self.ctx, ctypes.byref(info)) == 0
                       else None)

    def _plan(self, x):
        """Input and output tensors for inputs shaped like x: the output's
        shape from all of x's dims (batch, sequence, ...), as the run binds them."""
        self.inp = Tensor()
        self.inp.rank = x.ndim
        for i, d in enumerate(x.shape):
            self.inp.dims[i] = d
        self.inp.data = x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        name, rank, dims = ctypes.c_char_p(), ctypes.c_int(), (ctypes.c_int64 * MAX_RANK)()
        if hasattr(self.lib, 'clg_graph_output_shape'):
            st = self.lib.clg_graph_output_shape(self.g, 0, ctypes.byref(self.inp), 1, ctypes.byref(rank), dims)
        else:   # libraries before symbolic sizes: only the batch is symbolic
            st = self.lib.clg_graph_output_info(self.g, 0, ctypes.c_int64(x.shape[0]), ctypes.byref(name),
                                                ctypes.byref(rank), dims)
        if st:
            raise RuntimeError(self.lib.clg_graph_errmsg(self.g).decode())
        self.out = np.empty(tuple(dims[:rank.value]), np.float32)
        self.outt = Tensor()
        self.outt.data = self.out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.shape = x.shape

    def run(self, x):
        if self.shape != x.shape:
            self._plan(x)
        self.inp.data = x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if self.lib.clg_model_run(self.m, ctypes.byref(self.inp), 1, ctypes.byref(self.outt), 1):
            raise RuntimeError(self.lib.clg_model_errmsg(self.m).decode())
        return self.out

    def close(self):
        self.lib.clg_model_destroy(self.m)
        self.lib.clg_context_destroy(self.ctx)
        self.lib.clg_graph_destroy(self.g)


# ----------------------------------------------------------- ORT, PyTorch

class Ort:
    def __init__(self, path, threads):
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        # Interleaved with other engines on shared cores: ORT's worker threads
        # must not keep spinning through the next engine's call.
        so.add_session_config_entry('session.intra_op.allow_spinning', '0')
        self.s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'])
        self.name = self.s.get_inputs()[0].name

    def run(self, x):
        return self.s.run(None, {self.name: x})[0]


def torch_model(name):
    """The fixture's own module, rebuilt with make_fixtures' seeds."""
    names = list(make_fixtures.FIXTURES)
    make, shape, _opset, _scale = make_fixtures.FIXTURES[name]
    seed = 100 + names.index(name)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    model = make()
    make_fixtures.randomise_batchnorm(model, gen)
    model.eval()
    x = np.load(os.path.join(FIXTURES, name, 'input.npy'))
    want = np.load(os.path.join(FIXTURES, name, 'output.npy'))
    with torch.inference_mode():
        got = model(torch.from_numpy(x)).numpy()
    err = float(np.max(np.abs(got - want)))
    if err > 1e-5:
        raise RuntimeError(f'{name}: rebuilt PyTorch model differs from the fixture ({err})')
    return model


def built_model(name, seed):
    """One of BUILT, made with `seed` and exported to bench/models/NAME.onnx
    with its dynamic axes; the module and the path."""
    make, shape, _dims, opset, axes = BUILT[name]
    torch.manual_seed(seed)
    model = make()
    model.eval()
    path = os.path.join(BENCH, 'models', f'{name}.onnx')
    x = torch.from_numpy(np.random.default_rng(seed).uniform(-1, 1, (1,) + shape).astype(np.float32))
    # Not under no_grad: there PyTorch takes its fused inference path, which has no ONNX export.
    torch.onnx.export(model, x, path, opset_version=opset, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': axes, 'y': axes}, do_constant_folding=True)
    return model, path


class Spec:
    """A benchmarked model: its ONNX file, PyTorch module, the input shape
    after the batch, the sizes of its input's other symbolic dims, and a
    sample input (batch 1) for TorchScript tracing."""

    def __init__(self, name):
        self.name = name
        if name in BUILT:
            self.torch, self.path = built_model(name, 200 + list(BUILT).index(name))
            self.shape, self.dims = BUILT[name][1], dict(BUILT[name][2])
            self.sample = np.random.default_rng(0).uniform(-1, 1, (1,) + self.shape).astype(np.float32)
        else:
            self.torch, self.path = torch_model(name), os.path.join(FIXTURES, name, 'model.onnx')
            self.shape, self.dims = make_fixtures.FIXTURES[name][1], {}
            self.sample = np.load(os.path.join(FIXTURES, name, 'input.npy'))

    def dim_args(self):
        """clgraph's --dim options for the symbolic sizes other than the batch."""
        return [a for k, v in self.dims.items() for a in ('--dim', f'{k}={v}')]


class Torch:
    def __init__(self, model, threads):
        self.m, self.threads = model, threads

    def run(self, x):
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            return self.m(torch.from_numpy(x)).numpy()


# ------------------------------------------------------------ GEMM floor

def run_shapes(path, x, names):
    """The shapes of the tensors `names` when the model at `path` runs on x:
    one ONNX Runtime run with them as extra graph outputs (ONNX shape
    inference loses them behind the Reshapes that attention computes from
    Shape nodes)."""
    m = onnx.load(path)
    outs = {o.name for o in m.graph.output}
    for t in names:
        if t not in outs:
            m.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(m.SerializeToString(), so, providers=['CPUExecutionProvider'])
    got = s.run(list(names), {s.get_inputs()[0].name: x})
    return {t: list(v.shape) for t, v in zip(names, got)}


def gemm_shapes(spec, batch):
    """Every Gemm/MatMul/Conv of the model at `batch` (its other symbolic
    sizes at spec.dims): a key for the one-node graph and the GEMM it
    performs, counted. A Gemm/MatMul by a constant 2-D weight is the GEMM
    with M = the product of the other operand's leading dims; a MatMul of
    two computed tensors (attention's QK^T and PV) is a batched MatMul."""
    m = onnx.load(spec.path)
    inits = {t.name: list(t.dims) for t in m.graph.initializer}
    nodes = [n for n in m.graph.node if n.op_type in ('Gemm', 'MatMul', 'Conv')]
    names = list(dict.fromkeys(t for n in nodes for t in (n.input[0], n.input[1], n.output[0]) if t not in inits))
    x = np.random.default_rng(0).uniform(-1, 1, (batch,) + spec.shape).astype(np.float32)
    shapes = run_shapes(spec.path, x, names)
    found = collections.Counter()
    for n in nodes:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type in ('Gemm', 'MatMul'):
            xs, w = shapes[n.input[0]], inits.get(n.input[1])
            if w is None and n.op_type == 'MatMul':
                found[('MatMul', tuple(xs), tuple(shapes[n.input[1]]), tuple(shapes[n.output[0]]))] += 1
                continue
            if w is None or len(w) != 2 or (n.op_type == 'Gemm' and a.get('transA', 0)):
                log(f'{spec.name}: {n.op_type} {n.name} left out of the GEMM floor')
                continue
            tb = a.get('transB', 0)
            k, nout = (w[1], w[0]) if tb else (w[0], w[1])
            bias = n.op_type == 'Gemm' and len(n.input) > 2 and n.input[2] != ''
            found[('Gemm', int(np.prod(xs[:-1])), k, nout, tb, bias)] += 1
        elif n.op_type == 'Conv':
            xs, w = shapes[n.input[0]], inits[n.input[1]]
            ys = shapes[n.output[0]]
            found[('Conv', tuple(xs), tuple(w), tuple(a.get('strides', [1, 1])),
                   tuple(a.get('pads', [0, 0, 0, 0])), a.get('group', 1), tuple(ys))] += 1
    return found


def gemm_mkn(key):
    """(batch count, M, K, N) of the GEMMs a key performs."""
    if key[0] == 'Gemm':
        return 1, key[1], key[2], key[3]
    if key[0] == 'MatMul':
        xs, ws = key[1], key[2]
        return int(np.prod(key[3][:-2])), xs[-2], xs[-1], ws[-1]
    xs, w, ys = key[1], key[2], key[6]
    return 1, ys[0] * ys[2] * ys[3], w[1] * w[2] * w[3], w[0]   # im2col GEMM (group 1)


def one_node_model(key, path):
    rng = np.random.default_rng(0)
    if key[0] == 'Gemm':
        _, m, k, n, tb, bias = key
        w = rng.uniform(-0.1, 0.1, (n, k) if tb else (k, n)).astype(np.float32)
        inits = [numpy_helper.from_array(w, 'w')]
        ins = ['x', 'w']
        if bias:
            inits.append(numpy_helper.from_array(rng.uniform(-0.1, 0.1, n).astype(np.float32), 'b'))
            ins.append('b')
        node = helper.make_node('Gemm', ins, ['y'], transB=tb)
        x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', k])
        y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', n])
        xs = [x]
    elif key[0] == 'MatMul':
        # Both operands are graph inputs (random per run), fixed shapes.
        _, as_, bs, ys = key
        inits = []
        node = helper.make_node('MatMul', ['x', 'w'], ['y'])
        xs = [helper.make_tensor_value_info('x', TensorProto.FLOAT, list(as_)),
              helper.make_tensor_value_info('w', TensorProto.FLOAT, list(bs))]
        y = helper.make_tensor_value_info('y', TensorProto.FLOAT, list(ys))
    else:
        _, xs, ws, strides, pads, group, ys = key
        w = rng.uniform(-0.1, 0.1, ws).astype(np.float32)
        # At -O2 BatchNorm folds into the convolution, which then has a bias.
        b = rng.uniform(-0.1, 0.1, ws[0]).astype(np.float32)
        inits = [numpy_helper.from_array(w, 'w'), numpy_helper.from_array(b, 'b')]
        node = helper.make_node('Conv', ['x', 'w', 'b'], ['y'], strides=list(strides), pads=list(pads),
                                group=group, kernel_shape=list(ws[2:]))
        xs = [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N'] + list(xs[1:]))]
        y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N'] + list(ys[1:]))
    g = helper.make_graph([node], 'one', xs, [y], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), path)


def clgraph_bench(path, batch, device, iters=20, opt='-O2', profile=False, dims=()):
    """`clgraph bench --json`; dims: further options, e.g. ['--dim', 'S=128']."""
    cmd = [CLGRAPH, 'bench', path, '--batch', str(batch), *dims, '--iters', str(iters), '--json', opt]
    if device:
        cmd += ['--device', device]
    if profile:
        cmd.append('--profile')
    r = sh(cmd)
    if r.returncode:
        raise RuntimeError(f'{" ".join(cmd)}: {r.stderr}')
    return json.loads(r.stdout)


def gemm_floor(spec, batch, device, tmp, cache, runs=3):
    """Sum over the model's GEMM/convolution shapes of count x the device time
    (OpenCL profiling events) of that one node run alone through `clgraph
    bench --profile`: clgraph's time if everything else were free. The wall
    time of the one-node run (which adds one upload, read-back and wait per
    node) is kept too, as floor_wall."""
    found = gemm_shapes(spec, batch)
    total = total_wall = 0.0
    rows = []
    for key, count in found.items():
        if key not in cache:
            f = os.path.join(tmp, f'gemm{len(cache)}.onnx')
            one_node_model(key, f)
            # --profile reports the last run only: median over `runs` processes.
            # The one-node graph's batch N: Gemm's M, Conv's batch; MatMul's has no symbols.
            one_batch = key[1] if key[0] == 'Gemm' else key[1][0] if key[0] == 'Conv' else 1
            js = [clgraph_bench(f, one_batch, device, profile=True)
                  for _ in range(runs)]
            cache[key] = (statistics.median(sum(n['ms'] for n in j['profile']) for j in js),
                          statistics.median(j['latency_ms_median'] for j in js))
        b, m, k, n = gemm_mkn(key)
        ms, wall = cache[key]
        total += count * ms
        total_wall += count * wall
        rows.append({'op': key[0], 'shape': [str(v) for v in key[1:]], 'B': b, 'M': m, 'K': k, 'N': n, 'count': count,
                     'device_ms': ms, 'wall_ms': wall, 'gflops': 2 * b * m * k * n / ms / 1e6,
                     'gflops_wall': 2 * b * m * k * n / wall / 1e6})
    return total, total_wall, rows


def numpy_gflops(m, k, n, iters=30):
    """NumPy (OpenBLAS) sgemm in a child process with OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE unset (PLATFORM.md: they cap OpenBLAS at AVX2)."""
    code = f'''
import time, numpy as np
a = np.random.rand({m}, {k}).astype(np.float32); b = np.random.rand({k}, {n}).astype(np.float32)
c = np.empty(({m}, {n}), np.float32)
for _ in range(5): np.matmul(a, b, out=c)
t = []
for _ in range({iters}):
    t0 = time.perf_counter(); np.matmul(a, b, out=c); t.append(time.perf_counter() - t0)
t.sort(); print(t[len(t) // 2] * 1e3)
'''
    env = {k2: v for k2, v in os.environ.items() if k2 not in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')}
    r = sh([sys.executable, '-c', code], env=env)
    if r.returncode:
        raise RuntimeError(r.stderr)
    ms = float(r.stdout)
    return ms, 2 * m * k * n / ms / 1e6


# -------------------------------------------------------------- start-up

def timed(cmd, env=None):
    t0 = time.perf_counter()
    r = sh(cmd, env=env)
    dt = (time.perf_counter() - t0) * 1e3
    if r.returncode:
        raise RuntimeError(f'{cmd}: {r.stderr[-2000:]}')
    return dt


def startup(spec, device, tmp, warm_runs=3):
    name, path = spec.name, spec.path
    res = {}
    env = dict(os.environ)
    env['CLGRAPH_CACHE_DIR'] = os.path.join(tmp, f'clg-cache-{name}')
    env['POCL_CACHE_DIR'] = os.path.join(tmp, f'pocl-cache-{name}')
    for d in (env['CLGRAPH_CACHE_DIR'], env['POCL_CACHE_DIR']):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    cmd = [CLGRAPH, 'run', path, '--batch', '1'] + spec.dim_args() + (['--device', device] if device else [])
    res['clgraph'] = {'cold_ms': timed(cmd, env), 'warm_ms': statistics.median(timed(cmd, env) for _ in range(warm_runs))}
    x = f'np.random.default_rng(0).uniform(-1, 1, (1,) + {spec.shape!r}).astype(np.float32)'
    ort_code = (f'import numpy as np, onnxruntime as ort; so = ort.SessionOptions(); so.intra_op_num_threads = {CORES}; '
                f's = ort.InferenceSession({path!r}, so, providers=["CPUExecutionProvider"]); '
                f's.run(None, {{s.get_inputs()[0].name: {x}}})')
    ts = os.path.join(BENCH, 'models', f'{name}.pt')
    torch_code = (f'import numpy as np, torch; m = torch.jit.load({ts!r}); m.eval()\n'
                  f'with torch.inference_mode(): m(torch.from_numpy({x}))')
    for eng, code in (('onnxruntime', ort_code), ('pytorch', torch_code)):
        cmd = [sys.executable, '-c', code]
        res[eng] = {'cold_ms': timed(cmd), 'warm_ms': statistics.median(timed(cmd) for _ in range(warm_runs))}
    return res


# ------------------------------------------------------------------- main

def rel_err(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b)) / max(float(np.max(np.abs(b))), 1e-30))


def machine(devices):
    info = {'host': socket.gethostname(), 'date': datetime.datetime.utcnow().isoformat(timespec='seconds') + 'Z',
            'cores': CORES, 'platform': platform.platform(), 'python': platform.python_version()}
    for line in sh(['lscpu']).stdout.splitlines():
        if line.startswith('Model name:'):
            info['cpu'] = line.split(':', 1)[1].strip()
    info['clgraph_version'] = sh([CLGRAPH, '--version']).stdout.strip()
    info['clgraph_commit'] = sh(['git', '-C', ROOT, 'describe', '--always', '--dirty']).stdout.strip()
    info['clgraph_devices'] = sh([CLGRAPH, 'devices']).stdout
    cl = sh(['clinfo']).stdout.splitlines() if shutil.which('clinfo') else []
    info['opencl'] = sorted({' '.join(l.split()) for l in cl if any(
        k in l for k in ('Platform Name', 'Platform Version', 'Device Name', 'Driver Version', 'Device Version'))})
    pk = {}
    for p in ('pocl-opencl-icd', 'libclblast1', 'ocl-icd-libopencl1', 'libopenblas0-pthread', 'python3-torch'):
        v = sh(['dpkg-query', '-W', '-f=${Version}', p]).stdout
        if v:
            pk[p] = v
    info['debian_packages'] = pk
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        np.show_config()
    info['libraries'] = {'onnxruntime': ort.__version__, 'torch': torch.__version__, 'numpy': np.__version__,
                         'onnx': onnx.__version__, 'numpy_blas': [l.strip() for l in buf.getvalue().splitlines()
                                                                  if 'openblas' in l.lower()][:4]}
    info['torch_threads_default'] = torch.get_num_threads()
    info['env'] = {k: os.environ[k] for k in ('OMP_WAIT_POLICY', 'OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'CLGRAPH_DEVICE',
                                              'CLGRAPH_TUNING') if k in os.environ}
    info['extra_devices'] = devices
    return info


def bench_case(spec, batch, engines, iters, warmup):
    rng = np.random.default_rng(batch)
    shape = (batch,) + spec.shape
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    times = {e: [] for e in engines}
    outs = {}
    order = list(engines)
    shuffle = random.Random(batch)
    for r in range(warmup + iters):
        shuffle.shuffle(order)   # no engine always runs right after the same one
        for e in order:
            t0 = time.perf_counter()
            y = engines[e].run(x)
            dt = (time.perf_counter() - t0) * 1e3
            if r >= warmup:
                times[e].append(dt)
            if r == warmup + iters - 1:
                outs[e] = np.array(y, copy=True)
    ref = outs['pytorch-t1']
    res = {}
    for e in engines:
        res[e] = {'median_ms': statistics.median(times[e]), 'min_ms': min(times[e]),
                  'max_rel_err_vs_pytorch': rel_err(outs[e], ref), 'runs': len(times[e])}
    res['max_rel_err_any_pair'] = max(rel_err(outs[a], outs[b]) for a in outs for b in outs)
    return res


def fmt_ms(v):
    return f'{v:.3f} ms' if v < 10 else f'{v:.1f} ms'


def best(r, prefix):
    k = min((e for e in r if e.startswith(prefix)), key=lambda e: r[e]['median_ms'])
    return k, r[k]['median_ms']


def markdown(res):
    mi = res['machine']
    out = [f"{mi['cpu']}, {mi['cores']} cores; clgraph {mi['clgraph_commit']} on "
           f"{res['default_device']}; ONNX Runtime {mi['libraries']['onnxruntime']}, PyTorch "
           f"{mi['libraries']['torch']}, NumPy {mi['libraries']['numpy']}; {mi['date']}; load average "
           f"{res['load_average_at_start'][0]:.1f} at start, {res['load_average_at_end'][0]:.1f} at end (shared machine).", '',
           'Median wall time of one inference call (inputs and outputs in host memory), '
           f"{res['iters']} runs after {res['warmup']} warm-up, engines interleaved in a new random order each round. ORT and PyTorch: best of 1 and "
           f"{CORES} threads (count in brackets). Floor: the model's GEMM/convolution shapes alone through "
           'clgraph (`clgraph bench --profile` of a one-node graph per shape: device time of the node, im2col included '
           'for convolutions, median of 3 processes, times its count, summed over the model). Error: max |a-b| / max|b| over every pair of engines.', '']
    extra = [e for e in res['engines'] if e.startswith('clgraph-O2@')]
    head = ['model', 'batch', 'clgraph -O2'] + [e.replace('clgraph-O2@', 'clgraph @') for e in extra] + [
        'clgraph -O0', 'ORT', 'PyTorch', 'GEMM floor', 'clg/ORT', 'clg/PyTorch', 'clg/floor', 'O0/O2', 'max error']
    about = [f'{m}: {ABOUT[m]}.' for m in dict.fromkeys(c['model'] for c in res['cases']) if m in ABOUT]
    if about:
        out += about + ['']
    out += ['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head)]
    for c in res['cases']:
        r = c['engines']
        o2, o0 = r['clgraph-O2']['median_ms'], r['clgraph-O0']['median_ms']
        oe, ot = best(r, 'onnxruntime'), best(r, 'pytorch')
        model = c['model'] + ''.join(f' ({k} = {v})' for k, v in c.get('dims', {}).items())
        row = [model, str(c['batch']), fmt_ms(o2)] + [fmt_ms(r[e]['median_ms']) for e in extra] + [
            fmt_ms(o0), f"{fmt_ms(oe[1])} ({oe[0].split('-t')[1]})", f"{fmt_ms(ot[1])} ({ot[0].split('-t')[1]})",
            fmt_ms(c['gemm_floor_ms']), f'{o2 / oe[1]:.2f}', f'{o2 / ot[1]:.2f}', f"{o2 / c['gemm_floor_ms']:.2f}",
            f'{o0 / o2:.2f}', f"{r['max_rel_err_any_pair']:.1e}"]
        out.append('| ' + ' | '.join(row) + ' |')
    out += ['', "Arithmetic rate: the model's GEMM/convolution work per call (2·B·M·K·N summed over the floor's shapes; "
            'everything else in the model not counted) over each median wall time above, in GFLOP/s:', '',
            '| model | batch | GFLOP per call | clgraph -O2 | ORT | PyTorch | GEMM floor |', '| --- | --- | --- | --- | --- | --- | --- |']
    for c in res['cases']:
        r, gf = c['engines'], c['gemm_gflop']
        rate = lambda ms: f'{gf / ms * 1e3:.1f}'  # noqa: E731
        out.append(f"| {c['model']} | {c['batch']} | {gf:.3g} | {rate(r['clgraph-O2']['median_ms'])} | "
                   f"{rate(best(r, 'onnxruntime')[1])} | {rate(best(r, 'pytorch')[1])} | {rate(c['gemm_floor_ms'])} |")
    g = res['gemm_rate']
    out += ['', 'GEMM rate on the largest GEMM shape of the set '
            f"(M×K×N = {g['M']}×{g['K']}×{g['N']}, from {g['from']}) and at 1024³:", '',
            '| shape | clgraph Gemm, device time | clgraph Gemm, wall (upload + read-back) | NumPy matmul (OpenBLAS, full speed) |',
            '| --- | --- | --- | --- |',
            f"| {g['M']}×{g['K']}×{g['N']} | {g['clgraph_gflops']:.1f} GFLOP/s ({fmt_ms(g['clgraph_ms'])}) | "
            f"{g['clgraph_gflops_wall']:.1f} GFLOP/s ({fmt_ms(g['clgraph_wall_ms'])}) | "
            f"{g['numpy_gflops']:.1f} GFLOP/s ({fmt_ms(g['numpy_ms'])}) |",
            f"| 1024×1024×1024 | {g['clgraph_1024_gflops']:.1f} GFLOP/s ({fmt_ms(g['clgraph_1024_ms'])}) | "
            f"{g['clgraph_1024_gflops_wall']:.1f} GFLOP/s ({fmt_ms(g['clgraph_1024_wall_ms'])}) | "
            f"{g['numpy_1024_gflops']:.1f} GFLOP/s ({fmt_ms(g['numpy_1024_ms'])}) |"]
    if res.get('startup'):
        out += ['', 'Start-up, process start to first result at batch 1 (cold: empty clgraph program cache and '
                'empty POCL_CACHE_DIR; warm: median of 3 later runs; PyTorch loads a TorchScript file):', '',
                '| model | clgraph cold | clgraph warm | ORT cold | ORT warm | PyTorch cold | PyTorch warm |',
                '| --- | --- | --- | --- | --- | --- | --- |']
        for name, s in res['startup'].items():
            out.append(f'| {name} | ' + ' | '.join(
                f"{s[e][k] / 1e3:.2f} s" for e in ('clgraph', 'onnxruntime', 'pytorch') for k in ('cold_ms', 'warm_ms'))
                + ' |')
    return '\n'.join(out) + '\n'


def chart(res, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cases = res['cases']
    labels = [f"{c['model']}\nbatch {c['batch']}" for c in cases]
    series = [('clgraph -O2', lambda r, c: r['clgraph-O2']['median_ms']),
              ('clgraph -O0', lambda r, c: r['clgraph-O0']['median_ms']),
              ('ONNX Runtime', lambda r, c: best(r, 'onnxruntime')[1]),
              ('PyTorch', lambda r, c: best(r, 'pytorch')[1]),
              ('clgraph GEMM floor', lambda r, c: c['gemm_floor_ms'])]
    fig, ax = plt.subplots(figsize=(11, 4.8))
    w = 0.8 / len(series)
    for i, (lab, f) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * w for j in range(len(cases))]
        ax.bar(xs, [f(c['engines'], c) for c in cases], w, label=lab)
    ax.set_yscale('log')
    ax.set_ylabel('latency per call, ms (log)')
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_title(f"{res['machine']['cpu']}, {CORES} cores — {res['machine']['date'][:10]}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis='y', which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def profile_summary(spec, batch, device, runs=5):
    """`clgraph bench --profile` (per-node device time of one run) repeated
    `runs` times; per-node medians, so one noisy run does not decide."""
    path = spec.path
    profs = [clgraph_bench(path, batch, device, profile=True, dims=spec.dim_args()) for _ in range(runs)]
    p = profs[0]
    nodes = collections.OrderedDict()
    for q in profs:
        for n in q['profile']:
            nodes.setdefault(n['node'], dict(n, all_ms=[]))['all_ms'].append(n['ms'])
    for n in nodes.values():
        n['ms'] = statistics.median(n['all_ms'])
    nodes = sorted(nodes.values(), key=lambda n: -n['ms'])
    total = sum(n['ms'] for n in nodes)
    wall = statistics.median(q['latency_ms_median'] for q in profs)
    by_op = collections.defaultdict(lambda: [0.0, 0, 0])
    for n in nodes:
        by_op[n['op']][0] += n['ms']
        by_op[n['op']][1] += 1
        by_op[n['op']][2] += n['launches']
    lines = [f"`./{os.path.relpath(CLGRAPH, ROOT)} bench {os.path.relpath(path, ROOT)} --batch {batch}{''.join(' ' + a for a in spec.dim_args())} --profile`, "
             f"{runs} times (per-node device time from OpenCL profiling events; medians over the runs): "
             f"wall median {wall:.3f} ms, {p['launches_per_inference']} launches, "
             f"{total:.3f} ms of device time over {len(nodes)} nodes.", '',
             '| op | nodes | launches | device ms | share |', '| --- | --- | --- | --- | --- |']
    for op, (ms, nn, la) in sorted(by_op.items(), key=lambda kv: -kv[1][0]):
        lines.append(f'| {op} | {nn} | {la} | {ms:.3f} | {100 * ms / total:.1f}% |')
    lines += ['', 'Slowest nodes:', '', '| node | op | launches | device ms | share |', '| --- | --- | --- | --- | --- |']
    for n in nodes[:10]:
        lines.append(f"| `{n['node']}` | {n['op']} | {n['launches']} | {n['ms']:.3f} | {100 * n['ms'] / total:.1f}% |")
    return '\n'.join(lines) + '\n', {'runs': profs, 'median_nodes': nodes}, ''


def update_readme(md, png_rel, profile_md):
    path = os.path.join(BENCH, 'README.md')
    begin, end = '<!-- bench/run: begin -->', '<!-- bench/run: end -->'
    body = (f'{begin}\n_Written by `bench/run` from {os.path.basename(png_rel)[:-4]}.json._\n\n'
            f'![latency per model and engine]({png_rel})\n\n{md}\n### Where clgraph\'s time goes\n\n'
            f'{profile_md}{end}')
    text = open(path).read()
    if begin in text and end in text:
        text = text[:text.index(begin)] + body + text[text.index(end) + len(end):]
    else:
        text = text.rstrip('\n') + '\n\n## Against ONNX Runtime and PyTorch\n\n' + body + '\n'
    open(path, 'w').write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', action='append', default=[], help='also run clgraph -O2 on this device')
    ap.add_argument('--iters', type=int, default=25)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--no-startup', action='store_true')
    ap.add_argument('--no-readme', action='store_true')
    ap.add_argument('--models', default='', help='comma-separated subset of fixtures')
    args = ap.parse_args()
    t_start = time.time()
    os.makedirs(os.path.join(BENCH, 'models'), exist_ok=True)
    os.makedirs(os.path.join(BENCH, 'results'), exist_ok=True)
    models = [m for m in MODELS if not args.models or m[0] in args.models.split(',')]
    load = os.getloadavg()
    res = {'load_average_at_start': load, 'iters': args.iters, 'warmup': args.warmup, 'machine': machine(args.device), 'cases': []}
    res['default_device'] = next((l.split(None, 2)[2] for l in res['machine']['clgraph_devices'].splitlines()
                                  if l.startswith('*') and '(' in l), 'default device')
    tmp = tempfile.mkdtemp(prefix='clgraph-bench-')
    floor_cache = {}
    all_gemms = []
    specs = {}
    for name, batches in models:
        log(f'{name}: ' + ('building and exporting ...' if name in BUILT else 'rebuilding the fixture ...'))
        spec = specs[name] = Spec(name)
        path, tm = spec.path, spec.torch
        with torch.inference_mode():
            torch.jit.save(torch.jit.trace(tm, torch.from_numpy(spec.sample)), os.path.join(BENCH, 'models', f'{name}.pt'))
        engines = {'clgraph-O2': Clgraph(path, None, 2), 'clgraph-O0': Clgraph(path, None, 0)}
        # The device this process opened, which is what was timed.
        res['default_device'] = engines['clgraph-O2'].device or res['default_device']
        for d in args.device:
            engines[f'clgraph-O2@{d}'] = Clgraph(path, d, 2)
        for t in sorted({1, CORES}):
            engines[f'onnxruntime-t{t}'] = Ort(path, t)
            engines[f'pytorch-t{t}'] = Torch(tm, t)
        res['engines'] = list(engines)
        for b in batches:
            log(f'{name} batch {b}: engines ...')
            r = bench_case(spec, b, engines, args.iters, args.warmup)
            log(f'{name} batch {b}: GEMM floor ...')
            floor, floor_wall, rows = gemm_floor(spec, b, None, tmp, floor_cache)
            all_gemms += [dict(rw, model=name, batch=b) for rw in rows]
            res['cases'].append({'model': name, 'batch': b, 'dims': spec.dims, 'engines': r, 'gemm_floor_ms': floor,
                                 'gemm_floor_wall_ms': floor_wall, 'gemms': rows,
                                 'gemm_gflop': sum(2e-9 * g['count'] * g['B'] * g['M'] * g['K'] * g['N'] for g in rows)})
            log('  ' + ', '.join(f"{e} {v['median_ms']:.3f}" for e, v in r.items() if isinstance(v, dict))
                + f', floor {floor:.3f} ms, max err {r["max_rel_err_any_pair"]:.1e}')
        for e in engines.values():
            if isinstance(e, Clgraph):
                e.close()
    torch.set_num_threads(CORES)
    big = max((g for g in all_gemms if g['B'] == 1), key=lambda g: g['M'] * g['K'] * g['N'])
    log('GEMM rate ...')
    nms, ngf = numpy_gflops(big['M'], big['K'], big['N'])
    n1024_ms, n1024 = numpy_gflops(1024, 1024, 1024, iters=15)
    f1024 = os.path.join(tmp, 'gemm1024.onnx')
    one_node_model(('Gemm', 1024, 1024, 1024, 1, False), f1024)
    js = [clgraph_bench(f1024, 1024, None, iters=5, profile=True) for _ in range(3)]
    c1024 = statistics.median(j['latency_ms_median'] for j in js)
    c1024_dev = statistics.median(sum(n['ms'] for n in j['profile']) for j in js)
    res['gemm_rate'] = {'M': big['M'], 'K': big['K'], 'N': big['N'],
                        'from': f"{big['model']} batch {big['batch']} {big['op']}",
                        'clgraph_ms': big['device_ms'], 'clgraph_gflops': big['gflops'],
                        'clgraph_wall_ms': big['wall_ms'], 'clgraph_gflops_wall': big['gflops_wall'],
                        'numpy_ms': nms, 'numpy_gflops': ngf,
                        'clgraph_1024_ms': c1024_dev, 'clgraph_1024_gflops': 2 * 1024 ** 3 / c1024_dev / 1e6,
                        'clgraph_1024_wall_ms': c1024, 'clgraph_1024_gflops_wall': 2 * 1024 ** 3 / c1024 / 1e6,
                        'numpy_1024_ms': n1024_ms, 'numpy_1024_gflops': n1024}
    if not args.no_startup:
        res['startup'] = {}
        for name in ('example_mlp', 'resnet18_narrow'):
            if any(m[0] == name for m in models):
                log(f'start-up {name} ...')
                res['startup'][name] = startup(specs[name], None, tmp)
    # Profiles: the slowest case of the fixtures and of each built model (at
    # its largest batch), the slowest of all first.
    o2 = lambda c: c['engines']['clgraph-O2']['median_ms']  # noqa: E731
    slow = max(res['cases'], key=o2)
    fixture_cases = [c for c in res['cases'] if c['model'] not in BUILT]
    profiled = [slow] + [c for c in res['cases'] if c is not slow and (
        (c['model'] in BUILT and c['batch'] == max(b for m, bs in models if m == c['model'] for b in bs))
        or (fixture_cases and c is max(fixture_cases, key=o2)))]
    res['profiles'], prof_mds = [], []
    for c in profiled:
        log(f"profile {c['model']} batch {c['batch']} ...")
        md1, prof, _ = profile_summary(specs[c['model']], c['batch'], None)
        res['profiles'].append({'model': c['model'], 'batch': c['batch'], 'dims': c['dims'], 'bench': prof})
        md1 += ('\nThe same model\'s GEMM shapes alone (the floor\'s one-node graphs; convolutions as their im2col '
                'GEMM, M = batch·OH·OW, K = C·kh·kw, N = output channels; a Gemm/MatMul by a weight with M = the '
                'product of the other leading dims; B× a batched MatMul of two computed tensors), by total device time:\n\n'
                '| op | M×K×N | count | device ms each | GFLOP/s |\n| --- | --- | --- | --- | --- |\n')
        for g in sorted(c['gemms'], key=lambda g: -g['count'] * g['device_ms'])[:8]:
            bs = f"{g['B']}× " if g['B'] > 1 else ''
            md1 += f"| {g['op']} | {bs}{g['M']}×{g['K']}×{g['N']} | {g['count']} | {g['device_ms']:.3f} | {g['gflops']:.1f} |\n"
        head = f"#### {c['model']}, batch {c['batch']}" + ''.join(f', {k} = {v}' for k, v in c['dims'].items())
        prof_mds.append(f'{head}\n\n{md1}')
    res['profile'] = res['profiles'][0]   # the slowest case, as before
    prof_md = '\n'.join(prof_mds)
    res['runtime_s'] = time.time() - t_start
    res['load_average_at_end'] = os.getloadavg()
    stem = f"{socket.gethostname()}-{res['machine']['date'][:10]}"
    out = os.path.join(BENCH, 'results', stem)
    md = markdown(res)
    with open(out + '.json', 'w') as f:
        json.dump(res, f, indent=1)
    with open(out + '.md', 'w') as f:
        f.write(md + '\n### Where clgraph\'s time goes\n\n' + prof_md)
    chart(res, out + '.png')
    if not args.no_readme:
        update_readme(md, f'results/{stem}.png', prof_md)
    shutil.rmtree(tmp, ignore_errors=True)
    print(md)
    print(prof_md)
    log(f'wrote {out}.json/.md/.png in {res["runtime_s"]:.0f} s')


if __name__ == '__main__':
    main()
