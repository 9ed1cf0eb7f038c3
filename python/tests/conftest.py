"""Shared fixtures. The package under test is the installed clgraph when
there is one (a venv made with `pip install ./python`), else the one beside
these tests (python/clgraph). The library is found as clgraph/_lib.py says
(CLGRAPH_LIBRARY first); the device is the library's default, so
CLGRAPH_DEVICE picks it."""
import importlib.util
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures')

if importlib.util.find_spec('clgraph') is None:
    sys.path.insert(0, os.path.dirname(HERE))

import clgraph  # noqa: E402

# OpenCL's platforms are listed (the ICD loader opens every vendor's
# library) before test_torch.py imports torch: Debian's torch loads an older
# libtbb.so.12 than Intel's OpenCL CPU runtime needs, and after that the
# loader cannot open Intel's runtime, whose platform then silently drops out
# (docs/python.md, "Other libraries in the process").
DEVICES = clgraph.devices()


def pytest_report_header(config):
    lines = ['clgraph %s from %s' % (clgraph.__version__, os.path.dirname(clgraph.__file__)),
             'libclgraph: %s' % clgraph.library_path]
    lines.append('CLGRAPH_DEVICE=%r; devices: %s' % (os.environ.get('CLGRAPH_DEVICE'),
                                                     ', '.join(d.name for d in DEVICES) or 'none'))
    return lines


@pytest.fixture(scope='session')
def has_device():
    if not clgraph.devices():
        pytest.skip('no OpenCL device')


def fixture_path(name, file='model.onnx'):
    return os.path.join(FIXTURES, name, file)


def relative_error(got, want):
    """max |got - want| / max |want|, as tests/test_pytorch_fixtures.c measures."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-6))
