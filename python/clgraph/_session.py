"""InferenceSession: a model compiled for one OpenCL device, called the way
ONNX Runtime's sessions are."""
import ctypes
import mmap
import numbers
import os
import threading

import numpy as np

from . import _errors, _lib, _onnx_names
from ._lib import LIB

# clg_dtype -> (NumPy dtype, ONNX Runtime's type string)
_DTYPES = {
    _lib.F32: (np.dtype(np.float32), 'tensor(float)'),
    _lib.I64: (np.dtype(np.int64), 'tensor(int64)'),
    _lib.I32: (np.dtype(np.int32), 'tensor(int32)'),
    _lib.BOOL: (np.dtype(np.bool_), 'tensor(bool)'),
    _lib.F16: (np.dtype(np.float16), 'tensor(float16)'),  # IEEE half: its bits are clg's f16
}
_DEVICE_TYPES = {1: 'CPU', 2: 'GPU', 4: 'ACCELERATOR', 8: 'OTHER'}


def _check(status, message_fn):
    """Raises the status's exception with the library's message (message_fn
    is called only on failure: the message belongs to the failing object)."""
    if status != 0:
        msg = message_fn()
        msg = msg.decode('utf-8', 'replace') if msg else ''
        if not msg:
            msg = LIB.clg_status_string(status).decode('utf-8', 'replace')
        raise _errors.error(status, msg)


class NodeArg:
    """An input or output of a session, as ONNX Runtime describes it: name,
    shape (ints, and strings for symbolic sizes such as 'N', 'S' or 'N*S')
    and type ('tensor(float)', 'tensor(int64)', 'tensor(int32)',
    'tensor(bool)', 'tensor(float16)')."""

    def __init__(self, name, shape, type, dtype):
        self.name = name
        self.shape = shape
        self.type = type
        self.dtype = dtype  # the NumPy dtype of the arrays it takes or gives

    def __repr__(self):
        return 'NodeArg(name=%r, type=%r, shape=%r)' % (self.name, self.type, self.shape)


class Device(dict):
    """One OpenCL device (a dict, with its keys also readable as attributes):
    index, platform_index, device_index, platform, name, vendor, driver,
    c_version, type ('CPU', 'GPU', 'ACCELERATOR', 'OTHER'), compute_units,
    clock_mhz, global_mem_bytes, local_mem_bytes, max_alloc_bytes, fp16,
    fp64, unified_memory (bools), is_default. `spec` is the string that
    selects it (the device= of InferenceSession, CLGRAPH_DEVICE)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    @classmethod
    def _from_info(cls, info):
        d = cls()
        for name, _ in _lib.DeviceInfo._fields_:
            v = getattr(info, name)
            d[name] = v.decode('utf-8', 'replace') if isinstance(v, bytes) else v
        d['type'] = _DEVICE_TYPES.get(info.type, 'OTHER')
        for flag in ('fp16', 'fp64', 'unified_memory', 'is_default'):
            d[flag] = bool(d[flag])
        d['spec'] = str(info.index)
        return d


def devices():
    """Every OpenCL device of every platform, in the order `clgraph devices`
    lists them (a list of Device). A machine without OpenCL gives []."""
    count = ctypes.c_int()
    what = lambda: b''  # noqa: E731  (the library keeps no message here: the status names the cause)
    _check(LIB.clg_devices_list(None, 0, ctypes.byref(count)), what)
    if count.value == 0:
        return []
    infos = (_lib.DeviceInfo * count.value)()
    _check(LIB.clg_devices_list(infos, count.value, ctypes.byref(count)), what)
    return [Device._from_info(infos[i]) for i in range(min(count.value, len(infos)))]


def _looks_like_onnx(path):
    """As clg_graph_load decides: a name ending in .onnx or a first byte 0x08."""
    if path.lower().endswith('.onnx'):
        return True
    try:
        with open(path, 'rb') as f:
            return f.read(1) == b'\x08'
    except OSError:
        return False


class InferenceSession:
    """A model loaded, optimized and compiled for one OpenCL device.

        sess = clgraph.InferenceSession('model.onnx')
        y, = sess.run(None, {'x': x})

    path_or_bytes: an ONNX file, a clgraph text-format file (.clg), or the
    bytes of a serialized ONNX ModelProto. device: None (CLGRAPH_DEVICE,
    else the first discrete GPU, else any GPU, else a CPU), a spec string as
    clg_context_create takes ("gpu", "cpu", "1", "0:1", a substring of the
    device or platform name), an int (the global index), or a Device from
    clgraph.devices(). opt_level: 0, 1 or 2 (clg_graph_optimize).
    precision: 'fp32' (default), 'fp16-storage' (half buffers, float
    arithmetic; any device) or 'fp16' (needs the device's cl_khr_fp16);
    inputs and outputs stay float32 either way (clg_model_options.precision).
    cache_dir, kernel_dir, gemm: the context options of the same names
    (include/clgraph.h, clg_context_options); None takes the environment's.

    Raises a clgraph.Error subclass with the library's message when the
    model cannot be read, imported or compiled, or no device matches.
    Release it with close() (or a with block); it is also released when
    collected.
    """

    def __init__(self, path_or_bytes, device=None, opt_level=2, *, cache_dir=None, kernel_dir=None, gemm=None,
                 precision='fp32'):
        self._g = ctypes.c_void_p()
        self._ctx = ctypes.c_void_p()
        self._m = ctypes.c_void_p()
        self._out_shapes = {}
        # ctypes lets go of the GIL during a call, and a clgraph model is used
        # by one thread at a time (include/clgraph.h): run() holds this.
        self._lock = threading.Lock()
        try:
            self._open(path_or_bytes, device, opt_level, cache_dir, kernel_dir, gemm, precision)
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- opening

    def _open(self, source, device, opt_level, cache_dir, kernel_dir, gemm, precision):
        if opt_level not in (0, 1, 2) or isinstance(opt_level, bool):
            raise _errors.InvalidArgument('InferenceSession: opt_level must be 0, 1 or 2, got %r' % (opt_level,))
        if precision not in _lib.PRECISIONS:
            raise _errors.InvalidArgument('InferenceSession: precision must be one of %s, got %r'
                                          % (', '.join(sorted(_lib.PRECISIONS)), precision))
        _check(LIB.clg_graph_create(ctypes.byref(self._g), None, None), lambda: b'clg_graph_create: out of memory')
        graph_msg = lambda: LIB.clg_graph_errmsg(self._g)  # noqa: E731
        onnx_names = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            _check(LIB.clg_graph_parse_onnx(self._g, data, len(data)), graph_msg)
            onnx_names = self._read_names(data)
        elif isinstance(source, (str, os.PathLike)):
            path = os.fsdecode(source)
            _check(LIB.clg_graph_load(self._g, os.fsencode(path)), graph_msg)
            if _looks_like_onnx(path):
                with open(path, 'rb') as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    onnx_names = self._read_names(data)
        else:
            raise TypeError('InferenceSession: path_or_bytes must be a path or the bytes of an ONNX model, '
                            'not %s' % type(source).__name__)

        if isinstance(device, dict):
            device = device['spec']
        elif isinstance(device, numbers.Integral) and not isinstance(device, bool):
            device = str(int(device))
        elif device is not None and not isinstance(device, str):
            raise TypeError('InferenceSession: device must be None, a spec string, an int or a Device, not %s'
                            % type(device).__name__)
        self.device_spec = device
        opts = _lib.ContextOptions(ctypes.sizeof(_lib.ContextOptions), _opt_str(cache_dir),
                                   _opt_str(kernel_dir), _opt_str(gemm))
        s = LIB.clg_context_create_ex(ctypes.byref(self._ctx), device.encode() if device else None, 0,
                                      ctypes.byref(opts), None, None)
        _check(s, lambda: LIB.clg_context_errmsg(self._ctx))

        mopts = _lib.ModelOptions(ctypes.sizeof(_lib.ModelOptions), opt_level, _lib.PRECISIONS[precision])
        s = LIB.clg_model_create_ex(ctypes.byref(self._m), self._ctx, self._g, ctypes.byref(mopts))
        _check(s, lambda: LIB.clg_model_errmsg(self._m))
        self._describe(onnx_names)

    def _read_names(self, data):
        try:
            return _onnx_names.io_names(memoryview(data))
        except ValueError:
            return None  # the library read it, so this is only a name lookup that failed: keep clgraph's names

    def _describe(self, onnx_names):
        g = self._g
        name = ctypes.c_char_p()
        rank = ctypes.c_int()
        dims = (ctypes.c_int64 * _lib.MAX_RANK)()
        dtype = ctypes.c_int()
        graph_msg = lambda: LIB.clg_graph_errmsg(g)  # noqa: E731

        self._inputs = []   # (NodeArg, declared dims as int64 codes)
        for i in range(LIB.clg_graph_input_count(g)):
            _check(LIB.clg_graph_input_info(g, i, ctypes.byref(name), ctypes.byref(rank), dims), graph_msg)
            _check(LIB.clg_graph_input_dtype(g, i, ctypes.byref(dtype)), graph_msg)
            codes = list(dims[:rank.value])
            np_dtype, type_str = _DTYPES[dtype.value]
            arg = NodeArg(name.value.decode(), [self._dim(d) for d in codes], type_str, np_dtype)
            self._inputs.append((arg, dtype.value, codes))

        declared = {}
        n_nodes = LIB.clg_graph_node_count(g)
        self._outputs = []
        for i in range(LIB.clg_graph_output_count(g)):
            _check(LIB.clg_graph_output_info(g, i, 1, ctypes.byref(name), None, None), graph_msg)
            _check(LIB.clg_graph_output_dtype(g, i, ctypes.byref(dtype)), graph_msg)
            out_name = name.value.decode()
            if not declared:
                for k in range(n_nodes):
                    _check(LIB.clg_graph_node_info(g, k, None, ctypes.byref(name), ctypes.byref(rank), dims),
                           graph_msg)
                    declared[name.value.decode()] = list(dims[:rank.value])
            np_dtype, type_str = _DTYPES[dtype.value]
            self._outputs.append(NodeArg(out_name, [self._dim(d) for d in declared[out_name]], type_str, np_dtype))

        # ONNX Runtime's users call inputs and outputs by their ONNX names;
        # use those where they map to clgraph's, in order, as the importer's do.
        # Both names are accepted in run(); get_inputs/get_outputs show the ONNX ones.
        self._input_index = {a.name: i for i, a in enumerate(self._inputs_args())}
        self._output_index = {a.name: i for i, a in enumerate(self._outputs)}
        if onnx_names:
            for args, names, index in ((self._inputs_args(), onnx_names[0], self._input_index),
                                       (self._outputs, onnx_names[1], self._output_index)):
                if len(names) == len(args) and all(_maps_to(o, a.name) for o, a in zip(names, args)):
                    for i, (o, a) in enumerate(zip(names, args)):
                        a.name = o
                        index[o] = i

    def _inputs_args(self):
        return [arg for arg, _, _ in self._inputs]

    def _dim(self, code):
        if code >= 0:
            return int(code)
        buf = ctypes.create_string_buffer(64)
        return LIB.clg_graph_dim_str(self._g, code, buf, len(buf)).decode()

    # ----------------------------------------------------------- describing

    def get_inputs(self):
        """The graph's inputs (NodeArg: name, shape, type), in order."""
        return self._inputs_args()

    def get_outputs(self):
        """The graph's outputs (NodeArg: name, shape, type), in order."""
        return list(self._outputs)

    def get_device(self):
        """The Device this session runs on."""
        self._live()
        info = _lib.DeviceInfo()
        _check(LIB.clg_context_device(self._ctx, ctypes.byref(info)), lambda: LIB.clg_context_errmsg(self._ctx))
        return Device._from_info(info)

    # -------------------------------------------------------------- running

    def run(self, output_names, input_feed, run_options=None):
        """Runs the model. output_names: None for every output, or a list of
        output names (the result follows its order). input_feed: {input
        name: array} with every input of the graph; arrays must have the
        input's dtype (get_inputs()[i].type) and rank, and its fixed sizes;
        symbolic sizes take any positive size, the same wherever the same
        symbol appears. Returns a list of NumPy arrays, one per requested
        output. Raises clgraph.InvalidArgument naming the input for a
        missing or unknown input, a wrong dtype, rank or size, and the
        library's error for a failing run. Threads may share a session:
        their runs take turns (sessions never share a device queue, so
        separate sessions run concurrently)."""
        with self._lock:
            return self._run(output_names, input_feed, run_options)

    def _run(self, output_names, input_feed, run_options):
        self._live()
        if run_options is not None:
            raise _errors.InvalidArgument('run: run_options is not supported (pass None)')
        if not isinstance(input_feed, dict):
            raise TypeError('run: input_feed must be a dict {input name: array}, not %s' % type(input_feed).__name__)
        arrays = self._convert_inputs(input_feed)
        selected = self._select_outputs(output_names)

        n_in = len(self._inputs)
        tin = (_lib.Tensor * max(n_in, 1))()
        for i, ((_, dtype, _), a) in enumerate(zip(self._inputs, arrays)):
            _fill(tin[i], a, dtype)
        key = tuple(a.shape for a in arrays)
        shapes = self._out_shapes.get(key)
        if shapes is None:
            shapes = self._output_shapes(tin, n_in)
            if len(self._out_shapes) > 64:
                self._out_shapes.clear()
            self._out_shapes[key] = shapes
        outs = [np.empty(shape, dtype=arg.dtype) for arg, shape in zip(self._outputs, shapes)]
        tout = (_lib.Tensor * max(len(outs), 1))()
        for i, (o, arg) in enumerate(zip(outs, self._outputs)):
            _fill(tout[i], o, _dtype_code(arg.dtype))
        _check(LIB.clg_model_run(self._m, tin, n_in, tout, len(outs)), lambda: LIB.clg_model_errmsg(self._m))
        return [outs[i] for i in selected]

    def _convert_inputs(self, feed):
        by_name = self._input_index
        arrays = [None] * len(self._inputs)
        for key, value in feed.items():
            i = by_name.get(key)
            if i is None:
                raise _errors.InvalidArgument('run: unknown input %r; the model\'s inputs are %s'
                                              % (key, ', '.join(repr(a.name) for a in self._inputs_args())))
            if arrays[i] is not None:
                raise _errors.InvalidArgument('run: input %r given twice (as %r)' % (self._inputs[i][0].name, key))
            arrays[i] = self._convert(self._inputs[i], value)
        missing = [arg.name for (arg, _, _), a in zip(self._inputs, arrays) if a is None]
        if missing:
            raise _errors.InvalidArgument('run: missing input%s %s' % ('s' if len(missing) > 1 else '',
                                                                       ', '.join(repr(m) for m in missing)))
        return arrays

    def _convert(self, spec, value):
        arg, _, codes = spec
        want = arg.dtype
        if isinstance(value, np.ndarray) or hasattr(value, '__array__'):
            a = np.asarray(value)
            # Strict as ONNX Runtime is: a float64 array for a float input is
            # a mistake to report, not to round silently.
            if a.dtype.newbyteorder('=') != want:
                raise _errors.InvalidArgument('run: input %r: expected %s (%s), got an array of %s'
                                              % (arg.name, arg.type, want.name, a.dtype.name))
        else:  # lists and scalars take the input's dtype
            try:
                a = np.asarray(value, dtype=want)
            except (TypeError, ValueError) as e:
                raise _errors.InvalidArgument('run: input %r: cannot convert to %s: %s' % (arg.name, want.name, e)) \
                    from None
        if a.ndim != len(codes):
            raise _errors.InvalidArgument('run: input %r: expected rank %d %s, got rank %d %s'
                                          % (arg.name, len(codes), _shape_str(arg.shape), a.ndim, list(a.shape)))
        for d, (code, size) in enumerate(zip(codes, a.shape)):
            if code >= 0 and size != code:
                raise _errors.InvalidArgument('run: input %r: dimension %d must be %d, got %d (shape %s, '
                                              'expected %s)' % (arg.name, d, code, size, list(a.shape),
                                                                _shape_str(arg.shape)))
        return np.ascontiguousarray(a, dtype=want)

    def _select_outputs(self, output_names):
        if output_names is None:
            return list(range(len(self._outputs)))
        if isinstance(output_names, str):
            raise TypeError('run: output_names must be None or a list of names, not a string')
        index = self._output_index
        selected = []
        for n in output_names:
            if n not in index:
                raise _errors.InvalidArgument('run: unknown output %r; the model\'s outputs are %s'
                                              % (n, ', '.join(repr(a.name) for a in self._outputs)))
            selected.append(index[n])
        return selected

    def _output_shapes(self, tin, n_in):
        rank = ctypes.c_int()
        dims = (ctypes.c_int64 * _lib.MAX_RANK)()
        shapes = []
        for i in range(len(self._outputs)):
            _check(LIB.clg_graph_output_shape(self._g, i, tin, n_in, ctypes.byref(rank), dims),
                   lambda: LIB.clg_graph_errmsg(self._g))
            shapes.append(tuple(dims[:rank.value]))
        return shapes

    # ------------------------------------------------------------ releasing

    def _live(self):
        if not self._m:
            raise _errors.InvalidArgument('the session is closed')

    def close(self):
        """Releases the model, its context and its graph (the model before
        its context). Calling it again does nothing."""
        lock = getattr(self, '_lock', None)
        if lock is None:
            return self._release()
        with lock:  # not under a run in another thread
            self._release()

    def _release(self):
        if getattr(self, '_m', None) is not None:
            LIB.clg_model_destroy(self._m)
            self._m = ctypes.c_void_p()
        if getattr(self, '_ctx', None) is not None:
            LIB.clg_context_destroy(self._ctx)
            self._ctx = ctypes.c_void_p()
        if getattr(self, '_g', None) is not None:
            LIB.clg_graph_destroy(self._g)
            self._g = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        # At interpreter exit the library's module may already be gone.
        try:
            self.close()
        except Exception:
            pass


def _opt_str(value):
    return None if value is None else os.fsencode(value)


def _dtype_code(np_dtype):
    for code, (d, _) in _DTYPES.items():
        if d == np_dtype:
            return code
    raise AssertionError(np_dtype)


def _fill(t, a, dtype):
    t.data = a.ctypes.data
    t.rank = a.ndim
    for d, size in enumerate(a.shape):
        t.dims[d] = size
    t.dtype = dtype


def _shape_str(shape):
    return '[' + ', '.join(str(d) for d in shape) + ']'


def _maps_to(onnx_name, clg_name):
    """Whether the importer would name the ONNX value onnx_name clg_name
    (docs/onnx.md, "Names": bytes mapped, then .1, .2, ... on a clash)."""
    base = _onnx_names.clgraph_name(onnx_name)
    if clg_name == base:
        return True
    head, dot, tail = clg_name.rpartition('.')
    return bool(dot) and head == base and tail.isdigit()
