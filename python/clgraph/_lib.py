"""Finding libclgraph and declaring its C API for ctypes.

Structures mirror include/clgraph.h; a field added there must be added
here, at the same place. (bench/compare.py keeps bindings of its own: it
times a bare clg_model_run on preallocated buffers and also drives older
builds of the library, which this package does not load.)
"""
import ctypes
import ctypes.util
import glob
import os

MAX_RANK = 8  # CLG_MAX_RANK

# clg_dtype
F32, I64, I32, BOOL, F16 = 0, 1, 2, 3, 4


class Tensor(ctypes.Structure):
    """clg_tensor: data of element type dtype (cast to float *), C order."""
    _fields_ = [('data', ctypes.c_void_p), ('rank', ctypes.c_int),
                ('dims', ctypes.c_int64 * MAX_RANK), ('dtype', ctypes.c_int)]


class DeviceInfo(ctypes.Structure):
    """clg_device_info."""
    _fields_ = [('index', ctypes.c_int), ('platform_index', ctypes.c_int), ('device_index', ctypes.c_int),
                ('platform', ctypes.c_char * 128), ('name', ctypes.c_char * 128),
                ('vendor', ctypes.c_char * 128), ('driver', ctypes.c_char * 64),
                ('c_version', ctypes.c_char * 64), ('type', ctypes.c_int),
                ('compute_units', ctypes.c_uint), ('clock_mhz', ctypes.c_uint),
                ('global_mem_bytes', ctypes.c_uint64), ('local_mem_bytes', ctypes.c_uint64),
                ('max_alloc_bytes', ctypes.c_uint64), ('fp16', ctypes.c_int), ('fp64', ctypes.c_int),
                ('unified_memory', ctypes.c_int), ('is_default', ctypes.c_int)]


class ContextOptions(ctypes.Structure):
    """clg_context_options (initialise struct_size with ctypes.sizeof)."""
    _fields_ = [('struct_size', ctypes.c_size_t), ('cache_dir', ctypes.c_char_p),
                ('kernel_dir', ctypes.c_char_p), ('gemm', ctypes.c_char_p)]


class ModelOptions(ctypes.Structure):
    """clg_model_options."""
    _fields_ = [('struct_size', ctypes.c_size_t), ('opt_level', ctypes.c_int), ('precision', ctypes.c_int)]


# clg_precision, by the names the CLI's --precision takes
PRECISIONS = {'fp32': 0, 'fp16-storage': 1, 'fp16': 2}


_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_int = ctypes.c_int
_pint = ctypes.POINTER(ctypes.c_int)
_dims = ctypes.POINTER(ctypes.c_int64)  # int64_t dims[CLG_MAX_RANK]; an array or None
_str = ctypes.c_char_p

# name: (restype, argtypes). Every status is a c_int.
_SIGNATURES = {
    'clg_version': (_int, []),
    'clg_status_string': (_str, [_int]),
    'clg_graph_create': (_int, [_pp, _p, _p]),
    'clg_graph_destroy': (None, [_p]),
    'clg_graph_errmsg': (_str, [_p]),
    'clg_graph_load': (_int, [_p, _str]),
    'clg_graph_parse_onnx': (_int, [_p, _p, ctypes.c_size_t]),
    'clg_graph_node_count': (_int, [_p]),
    'clg_graph_node_info': (_int, [_p, _int, _pint, ctypes.POINTER(_str), _pint, _dims]),
    'clg_graph_input_count': (_int, [_p]),
    'clg_graph_output_count': (_int, [_p]),
    'clg_graph_input_info': (_int, [_p, _int, ctypes.POINTER(_str), _pint, _dims]),
    'clg_graph_input_dtype': (_int, [_p, _int, _pint]),
    'clg_graph_output_dtype': (_int, [_p, _int, _pint]),
    'clg_graph_output_info': (_int, [_p, _int, ctypes.c_int64, ctypes.POINTER(_str), _pint, _dims]),
    'clg_graph_output_shape': (_int, [_p, _int, ctypes.POINTER(Tensor), _int, _pint, _dims]),
    'clg_graph_dim_str': (_str, [_p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t]),
    'clg_devices_list': (_int, [ctypes.POINTER(DeviceInfo), _int, _pint]),
    'clg_context_create_ex': (_int, [_pp, _str, _int, ctypes.POINTER(ContextOptions), _p, _p]),
    'clg_context_destroy': (None, [_p]),
    'clg_context_errmsg': (_str, [_p]),
    'clg_context_device': (_int, [_p, ctypes.POINTER(DeviceInfo)]),
    'clg_model_create_ex': (_int, [_pp, _p, _p, ctypes.POINTER(ModelOptions)]),
    'clg_model_destroy': (None, [_p]),
    'clg_model_errmsg': (_str, [_p]),
    'clg_model_run': (_int, [_p, ctypes.POINTER(Tensor), _int, ctypes.POINTER(Tensor), _int]),
}

_NAMES = ('libclgraph.so', 'libclgraph.so.*', 'libclgraph.dylib', 'libclgraph.*.dylib', 'clgraph.dll')


def _files_in(directory):
    """Library files in directory, the unversioned name first."""
    found = []
    for pattern in _NAMES:
        found += sorted(glob.glob(os.path.join(glob.escape(directory), pattern)))
    return found


def _source_build_dir():
    """The build/ directory of the checkout this package came from: recorded
    by setup.py when installed from a checkout (clgraph/_source.py), or found
    beside python/ when the package is imported straight from the tree."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from . import _source  # written by setup.py's build_py
        return _source.BUILD_DIR
    except ImportError:
        return os.path.join(os.path.dirname(os.path.dirname(here)), 'build')


def _declare(lib):
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)  # AttributeError: a library older than this package
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def load():
    """Loads libclgraph: CLGRAPH_LIBRARY, else a copy bundled in the
    package's directory, else one the system's linker finds
    (ctypes.util.find_library), else the build/ directory of the source
    checkout. Raises ImportError listing every place tried."""
    tried = []

    def attempt(path, why):
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append('%s (%s): %s' % (path, why, e))
            return None
        try:
            return _declare(lib)
        except AttributeError as e:
            tried.append('%s (%s): not a clgraph library this package can use: %s' % (path, why, e))
            return None

    env = os.environ.get('CLGRAPH_LIBRARY')
    if env:
        # An explicit choice that fails is an error, not a reason to pick another copy.
        lib = attempt(env, 'CLGRAPH_LIBRARY')
        if lib is None:
            raise ImportError('clgraph: cannot load the library CLGRAPH_LIBRARY names: ' + tried[0])
        return lib, env
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [(p, 'bundled with the package') for p in _files_in(here)]
    if not candidates:
        tried.append('%s: no libclgraph bundled with the package' % here)
    system = ctypes.util.find_library('clgraph')
    if system:
        candidates.append((system, 'ctypes.util.find_library'))
    else:
        tried.append("ctypes.util.find_library('clgraph'): no installed libclgraph found")
    build = _source_build_dir()
    in_build = [(p, 'source checkout build directory') for p in _files_in(build)]
    candidates += in_build
    if not in_build:
        tried.append('%s: no libclgraph built there (cmake --build build)' % build)
    for path, why in candidates:
        lib = attempt(path, why)
        if lib is not None:
            return lib, path
    raise ImportError('clgraph: libclgraph not found; set CLGRAPH_LIBRARY to its path. Tried:\n  '
                      + '\n  '.join(tried))


def _open_platforms():
    """Has the OpenCL ICD loader open every vendor's driver now, at import.
    A driver's libraries can clash with ones a later import brings: Debian's
    PyTorch loads libtbb.so.12 2021.8, and Intel's OpenCL CPU runtime, which
    needs the newer libtbb.so.12 it ships, then fails to load and the ICD
    loader drops its device without a word. Opened first, the driver's
    libtbb is the one PyTorch finds already loaded. (torch imported before
    clgraph still hides the device: python/README.md.)"""
    try:
        cl = ctypes.CDLL('libOpenCL.so.1')
        cl.clGetPlatformIDs(0, None, ctypes.byref(ctypes.c_uint()))
    except (OSError, AttributeError):
        pass   # no ICD loader here: the library's own error says so when a device is asked for


LIB, LIB_PATH = load()
_open_platforms()
