"""ONNX models exported from PyTorch and Keras (tests/fixtures, made by
make_fixtures.py, make_transformer_fixtures.py and make_keras_fixtures.py
there) run through the Python API and compared with the frameworks' own
outputs stored beside them, as tests/test_pytorch_fixtures.c does in C."""
import os

import numpy as np
import pytest

import clgraph
from conftest import fixture_path, relative_error

TOLERANCE = 1e-4  # relative to the output's largest magnitude, the C test's default

# name: the input's dtype and its declared shape as the session reports it
FIXTURES = {
    'example_mlp': ('tensor(float)', ['N', 128]),
    'residual_mlp24': ('tensor(float)', ['N', 32]),
    'embedding_stack': ('tensor(int64)', ['N', 'S']),        # int64 token ids, symbolic S
    'encoder_stack': ('tensor(float)', ['N', 'S', 32]),
    'arange_positions': ('tensor(int64)', ['N', 'S']),
    'keras_mha_block': ('tensor(float)', ['N', 'unk__481', 32]),  # tf2onnx's names for unknown sizes
}


def pairs(name):
    """(input, expected output) pairs stored for the fixture: input.npy and,
    for the transformers, input_2.npy at another batch and sequence length."""
    out = []
    for suffix in ('', '_2'):
        if os.path.exists(fixture_path(name, 'input%s.npy' % suffix)):
            out.append((np.load(fixture_path(name, 'input%s.npy' % suffix)),
                        np.load(fixture_path(name, 'output%s.npy' % suffix))))
    return out


@pytest.mark.parametrize('name', sorted(FIXTURES))
def test_fixture_matches_framework(name, has_device):
    type_, shape = FIXTURES[name]
    with clgraph.InferenceSession(fixture_path(name)) as sess:
        (inp,) = sess.get_inputs()
        assert inp.type == type_
        assert inp.shape == shape
        (out,) = sess.get_outputs()
        for x, want in pairs(name):
            assert x.dtype == inp.dtype
            got = sess.run(None, {inp.name: x})
            assert len(got) == 1
            assert got[0].dtype == np.float32
            err = relative_error(got[0], want)
            assert err <= TOLERANCE, '%s %s: error %.3g' % (name, x.shape, err)
            assert sess.run([out.name], {inp.name: x})[0].shape == want.shape


def test_symbolic_sequence_two_sizes(has_device):
    """One session, the sequence length S changed between runs (and back):
    the model re-plans for each size; outputs are PyTorch's at each."""
    (x1, y1), (x2, y2) = pairs('encoder_stack')
    assert x1.shape[1] != x2.shape[1]
    with clgraph.InferenceSession(fixture_path('encoder_stack')) as sess:
        for x, want in ((x1, y1), (x2, y2), (x1, y1)):
            (got,) = sess.run(None, {'x': x})
            assert relative_error(got, want) <= TOLERANCE


def test_from_bytes_and_opt_levels(has_device):
    """A model given as bytes, at each optimization level, gives the same
    result as from its file."""
    with open(fixture_path('residual_mlp24'), 'rb') as f:
        data = f.read()
    ((x, want),) = pairs('residual_mlp24')
    for level in (0, 1, 2):
        with clgraph.InferenceSession(data, opt_level=level) as sess:
            (got,) = sess.run(None, {'x': x})
            assert relative_error(got, want) <= TOLERANCE, level


def test_precision_fp16_storage(has_device):
    """precision='fp16-storage' runs on any device, float32 in and out,
    within 8 half unit roundoffs (8 * 2**-11) of PyTorch's output relative
    to its largest value; a name it does not know is refused."""
    ((x, want),) = pairs('residual_mlp24')
    with clgraph.InferenceSession(fixture_path('residual_mlp24'), precision='fp16-storage') as sess:
        (got,) = sess.run(None, {'x': x})
        assert got.dtype == np.float32
        assert relative_error(got, want) <= 8 * 2.0 ** -11
    with pytest.raises(clgraph.InvalidArgument, match='precision'):
        clgraph.InferenceSession(fixture_path('residual_mlp24'), precision='half')


def test_int32_ids_are_refused_for_int64_input(has_device):
    """ONNX Runtime's rule: the array's dtype must be the input's."""
    ((x, _),) = pairs('embedding_stack')[:1]
    with clgraph.InferenceSession(fixture_path('embedding_stack')) as sess:
        with pytest.raises(clgraph.InvalidArgument, match=r"input 'x': expected tensor\(int64\).*int32"):
            sess.run(None, {'x': x.astype(np.int32)})
        # a plain list takes the input's dtype
        (got,) = sess.run(None, {'x': x.tolist()})
        (want,) = sess.run(None, {'x': x})
        np.testing.assert_array_equal(got, want)
