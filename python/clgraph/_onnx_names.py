"""The original names of an ONNX model's graph inputs and outputs.

clgraph's importer maps ONNX names to clgraph names (docs/onnx.md, "Names":
`input:0` becomes `input_0`), and the C API only knows the mapped ones. ONNX
Runtime's users call inputs by their ONNX names, so the session reads those
from the ModelProto itself: a few fields of the protobuf wire format, with
no protobuf package needed. Initializers (weights) are skipped over, never
copied.
"""

# Field numbers from onnx.proto.
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT = 5, 11, 12
_VALUE_INFO_NAME = 1
_TENSOR_NAME = 8


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError('truncated varint')
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError('varint too long')


def _fields(buf, start, end):
    """(field number, wire type, value or (start, end) of a length-delimited value)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 5:
            value, pos = None, pos + 4
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = (pos, pos + n), pos + n
        else:
            raise ValueError('wire type %d' % wire)
        if pos > end:
            raise ValueError('truncated field')
        yield field, wire, value


def _name(buf, span, field_number):
    for field, wire, value in _fields(buf, span[0], span[1]):
        if field == field_number and wire == 2:
            return bytes(buf[value[0]:value[1]]).decode('utf-8', 'replace')
    return ''


def io_names(buf):
    """(inputs, outputs): the ONNX names of the graph's inputs that are not
    initializers, and of its outputs, in file order. buf is the serialized
    ModelProto (bytes, memoryview or mmap). Raises ValueError if it is not
    one."""
    graph = None
    for field, wire, value in _fields(buf, 0, len(buf)):
        if field == _MODEL_GRAPH and wire == 2:
            graph = value
    if graph is None:
        raise ValueError('no graph')
    inputs, outputs, initializers = [], [], set()
    for field, wire, value in _fields(buf, graph[0], graph[1]):
        if wire != 2:
            continue
        if field == _GRAPH_INPUT:
            inputs.append(_name(buf, value, _VALUE_INFO_NAME))
        elif field == _GRAPH_OUTPUT:
            outputs.append(_name(buf, value, _VALUE_INFO_NAME))
        elif field == _GRAPH_INITIALIZER:
            initializers.add(_name(buf, value, _TENSOR_NAME))
    return [n for n in inputs if n not in initializers], outputs


_ALLOWED = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-')


def clgraph_name(onnx_name):
    """Step 1 of the importer's mapping: every byte outside clgraph's name
    characters becomes '_'. (Step 2, the .1 suffix of a name already taken,
    is checked by comparing with the names the graph reports.)"""
    raw = onnx_name.encode('utf-8')
    return ''.join(chr(b) if b in _ALLOWED else '_' for b in raw) or '_'
