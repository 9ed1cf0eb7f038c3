"""clgraph's statuses as exceptions: one class per clg_status, all under Error."""


class Error(Exception):
    """A failing clgraph call. status is the clg_status value (negative),
    status_name its enum name ("CLG_ERR_PARSE"); str() is the library's
    message, which names the file, node, input or OpenCL call at fault."""
    __module__ = 'clgraph'
    status = None
    status_name = None

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status
            self.status_name = STATUS_NAMES.get(status, 'CLG_ERR_%d' % status)


def _status_class(name, status, doc, *bases):
    return type(name, (Error,) + bases, {'__doc__': doc, '__module__': 'clgraph', 'status': status,
                                         'status_name': STATUS_NAMES[status]})


STATUS_NAMES = {
    -1: 'CLG_ERR_INVALID_ARGUMENT', -2: 'CLG_ERR_OUT_OF_MEMORY', -3: 'CLG_ERR_PARSE',
    -4: 'CLG_ERR_INVALID_GRAPH', -5: 'CLG_ERR_UNSUPPORTED', -6: 'CLG_ERR_IO', -7: 'CLG_ERR_FORMAT',
    -8: 'CLG_ERR_OPENCL', -9: 'CLG_ERR_DEVICE_NOT_FOUND', -10: 'CLG_ERR_OUT_OF_DEVICE_MEMORY',
    -11: 'CLG_ERR_BUILD', -12: 'CLG_ERR_INTERNAL',
}

# Python's matching built-in exception is a second base where there is one,
# so `except ValueError` also catches a bad input.
InvalidArgument = _status_class('InvalidArgument', -1, 'A bad argument: an input of the wrong name, '
                                'dtype or shape, an unknown output, a bad option.', ValueError)
OutOfMemory = _status_class('OutOfMemory', -2, 'The host allocator failed.', MemoryError)
ParseError = _status_class('ParseError', -3, 'Text that does not follow the clgraph text format.')
InvalidGraph = _status_class('InvalidGraph', -4, 'Undefined or duplicate names, cycles, shape errors.')
Unsupported = _status_class('Unsupported', -5, 'A valid request clgraph cannot do (yet): an op, '
                            'attribute value, data type or opset.')
FileError = _status_class('FileError', -6, 'A file could not be opened, read or written.', OSError)
FormatError = _status_class('FormatError', -7, "A file's contents are malformed (not a ModelProto, "
                            'truncated).')
OpenCLError = _status_class('OpenCLError', -8, 'An OpenCL or CLBlast call failed.')
DeviceNotFound = _status_class('DeviceNotFound', -9, 'No OpenCL device matches the request.')
OutOfDeviceMemory = _status_class('OutOfDeviceMemory', -10, 'The device ran out of memory.')
BuildError = _status_class('BuildError', -11, 'An OpenCL program failed to build.')
InternalError = _status_class('InternalError', -12, 'clgraph broke one of its own invariants: '
                              'a bug to report.')

_BY_STATUS = {c.status: c for c in (InvalidArgument, OutOfMemory, ParseError, InvalidGraph, Unsupported,
                                    FileError, FormatError, OpenCLError, DeviceNotFound, OutOfDeviceMemory,
                                    BuildError, InternalError)}


def error(status, message):
    """The exception for a failed call's status and message."""
    cls = _BY_STATUS.get(status)
    return Error(message, status) if cls is None else cls(message)
