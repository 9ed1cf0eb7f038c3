"""clgraph: neural networks compiled for OpenCL devices, called the way ONNX
Runtime is.

    import clgraph
    sess = clgraph.InferenceSession('model.onnx')        # device=None, opt_level=2
    outputs = sess.run(None, {'x': x})                   # a list of NumPy arrays
    sess.get_inputs()[0].name, .shape, .type             # 'x', ['N', 128], 'tensor(float)'
    clgraph.devices()                                    # the OpenCL devices
    clgraph.from_torch(module, example_inputs)           # through torch.onnx, in memory

The package binds libclgraph through ctypes; python/README.md says where it
looks for the library (CLGRAPH_LIBRARY first). Failing calls raise a
clgraph.Error subclass with the library's message.
"""
from ._lib import LIB as _LIB, LIB_PATH as library_path
from ._errors import (Error, InvalidArgument, OutOfMemory, ParseError, InvalidGraph, Unsupported,
                      FileError, FormatError, OpenCLError, DeviceNotFound, OutOfDeviceMemory, BuildError,
                      InternalError)
from ._session import Device, InferenceSession, NodeArg, devices
from ._torch import from_torch

__all__ = ['InferenceSession', 'NodeArg', 'Device', 'devices', 'from_torch', 'library_path', '__version__',
           'Error', 'InvalidArgument', 'OutOfMemory', 'ParseError', 'InvalidGraph', 'Unsupported', 'FileError',
           'FormatError', 'OpenCLError', 'DeviceNotFound', 'OutOfDeviceMemory', 'BuildError', 'InternalError']


def _version():
    n = _LIB.clg_version()  # CLG_VERSION_NUMBER: major * 10000 + minor * 100 + patch
    return '%d.%d.%d' % (n // 10000, n // 100 % 100, n % 100)


__version__ = _version()
