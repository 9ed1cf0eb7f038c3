"""The session's description of a model, devices(), the version, errors
as exceptions, and releasing."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import clgraph
from conftest import HERE, ROOT, fixture_path

# Two inputs sharing the batch N, two outputs, in clgraph's text format.
TWO_IO = """
input a: f32[N, 4]
input b: f32[N, 4]
s = Add(a, b)
p = Mul(a, b)
output p
output s
"""

# Token ids gathered from a 5-row table.
GATHER = """
input ids: i64[N, S]
const table: f32[5, 3] = random(1, -1, 1)
e = Gather(table, ids) axis=0
output e
"""


@pytest.fixture
def two_io(tmp_path, has_device):
    path = tmp_path / 'two_io.clg'
    path.write_text(TWO_IO)
    with clgraph.InferenceSession(str(path)) as sess:
        yield sess


def test_structures_match_the_header():
    # _lib mirrors clg_tensor; its dims array is CLG_MAX_RANK long
    from clgraph import _lib
    with open(os.path.join(ROOT, 'include', 'clgraph.h')) as f:
        header = f.read()
    assert int(re.search(r'#define CLG_MAX_RANK (\d+)', header).group(1)) == _lib.MAX_RANK


def test_version_is_the_projects():
    # project(VERSION) in CMakeLists.txt is the one place the version is
    # written; the header and clg_version() are generated from it.
    with open(os.path.join(ROOT, 'CMakeLists.txt')) as f:
        cmake = f.read()
    version = re.search(r'project\(clgraph VERSION (\d+\.\d+\.\d+)', cmake).group(1)
    assert clgraph.__version__ == version


def test_devices(has_device):
    devs = clgraph.devices()
    assert [d.index for d in devs] == list(range(len(devs)))
    assert sum(d.is_default for d in devs) == 1
    for d in devs:
        assert d.name and d.platform
        assert d.type in ('CPU', 'GPU', 'ACCELERATOR', 'OTHER')
        assert isinstance(d.fp16, bool) and isinstance(d['fp64'], bool)
        assert d.compute_units >= 1 and d.global_mem_bytes > 0


def test_torch_imported_after_keeps_every_device(has_device):
    """import clgraph, then torch: the same devices as import clgraph alone
    (Intel's OpenCL runtime, needing a newer libtbb than Debian's PyTorch
    loads, vanished when torch came first and clgraph opened the drivers
    later). It can fail only where both are installed, as in CI."""
    pytest.importorskip('torch')
    code = ('import clgraph, torch; clgraph.InferenceSession; '
            'print(len(clgraph.devices()))')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(clgraph.__file__))] + os.environ.get('PYTHONPATH', '').split(os.pathsep)))
    fresh = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, env=env)
    alone = subprocess.run([sys.executable, '-c', 'import clgraph; print(len(clgraph.devices()))'],
                           capture_output=True, text=True, check=True, env=env)
    assert int(fresh.stdout.split()[-1]) == int(alone.stdout.split()[-1])


def test_device_argument_selects(has_device):
    devs = clgraph.devices()
    for d in (devs[0], devs[-1]):
        for spec in (d, d.index, np.int64(d.index), d.spec):
            with clgraph.InferenceSession(fixture_path('example_mlp'), device=spec) as sess:
                got = sess.get_device()
                assert (got.platform, got.name) == (d.platform, d.name)
    env = os.environ.get('CLGRAPH_DEVICE')
    if env:  # the library's default honours CLGRAPH_DEVICE
        with clgraph.InferenceSession(fixture_path('example_mlp')) as sess:
            got = sess.get_device()
            assert env.lower() in (got.platform + ' ' + got.name).lower() or env == str(got.index)


def test_inputs_and_outputs_described(has_device):
    with clgraph.InferenceSession(fixture_path('embedding_stack')) as sess:
        (i,) = sess.get_inputs()
        (o,) = sess.get_outputs()
        assert (i.name, i.shape, i.type, i.dtype) == ('x', ['N', 'S'], 'tensor(int64)', np.int64)
        assert (o.name, o.shape, o.type) == ('y', ['N', 'S', 10], 'tensor(float)')


def test_output_names_select_and_order(two_io):
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    b = np.full((2, 4), 3, np.float32)
    assert [o.name for o in two_io.get_outputs()] == ['p', 's']
    p, s = two_io.run(None, {'a': a, 'b': b})
    np.testing.assert_array_equal(p, a * b)
    np.testing.assert_array_equal(s, a + b)
    s2, p2 = two_io.run(['s', 'p'], {'b': b, 'a': a})
    np.testing.assert_array_equal(s2, a + b)
    np.testing.assert_array_equal(p2, a * b)
    (s3,) = two_io.run(['s'], {'a': a, 'b': b})
    np.testing.assert_array_equal(s3, a + b)


def test_non_contiguous_and_big_endian_inputs(two_io):
    a = np.arange(16, dtype=np.float32).reshape(4, 4)[:, ::2].repeat(2, axis=1)[::2]  # strided view
    b = np.ones((2, 4), dtype='>f4')
    assert not a.flags.c_contiguous
    p, s = two_io.run(None, {'a': a, 'b': b})
    np.testing.assert_array_equal(s, a + 1)


# ------------------------------------------------------------------ errors

def test_bad_path():
    with pytest.raises(clgraph.FileError) as e:
        clgraph.InferenceSession('/nonexistent/model.onnx')
    assert '/nonexistent/model.onnx' in str(e.value)
    assert e.value.status_name == 'CLG_ERR_IO' and e.value.status == -6
    assert isinstance(e.value, clgraph.Error) and isinstance(e.value, OSError)


def test_not_a_model():
    with pytest.raises(clgraph.FormatError) as e:
        clgraph.InferenceSession(b'\x08\x07\x12\xff\xff')
    assert e.value.status_name == 'CLG_ERR_FORMAT' and str(e.value)
    with pytest.raises(TypeError):
        clgraph.InferenceSession(42)


def test_text_parse_error_names_line(tmp_path):
    path = tmp_path / 'bad.clg'
    path.write_text('input x: f32[N, 4]\ny = Frobnicate(x)\noutput y\n')
    with pytest.raises(clgraph.Error) as e:
        clgraph.InferenceSession(str(path))
    assert 'Frobnicate' in str(e.value) and e.value.status_name in ('CLG_ERR_PARSE', 'CLG_ERR_INVALID_GRAPH')


def test_bad_device_and_options(has_device):
    with pytest.raises(clgraph.DeviceNotFound) as e:
        clgraph.InferenceSession(fixture_path('example_mlp'), device='no such device anywhere')
    assert 'no such device anywhere' in str(e.value)
    with pytest.raises(clgraph.InvalidArgument, match='opt_level'):
        clgraph.InferenceSession(fixture_path('example_mlp'), opt_level=3)
    with pytest.raises(clgraph.InvalidArgument) as e:
        clgraph.InferenceSession(fixture_path('example_mlp'), gemm='fastest please')
    assert 'fastest please' in str(e.value) or 'gemm' in str(e.value)


def test_input_errors_name_the_input(two_io):
    a = np.zeros((2, 4), np.float32)
    cases = [
        ({'a': a}, r"missing input 'b'"),
        ({'a': a, 'b': a, 'c': a}, r"unknown input 'c'.*'a', 'b'"),
        ({'a': a, 'b': a.astype(np.float64)}, r"input 'b': expected tensor\(float\) \(float32\), got an array of float64"),
        ({'a': a, 'b': np.zeros((2, 4, 1), np.float32)}, r"input 'b': expected rank 2 \[N, 4\], got rank 3"),
        ({'a': a, 'b': np.zeros((2, 5), np.float32)}, r"input 'b': dimension 1 must be 4, got 5"),
    ]
    for feed, pattern in cases:
        with pytest.raises(clgraph.InvalidArgument, match=pattern) as e:
            two_io.run(None, feed)
        assert isinstance(e.value, ValueError) and e.value.status_name == 'CLG_ERR_INVALID_ARGUMENT'
    with pytest.raises(clgraph.InvalidArgument, match=r"unknown output 'q'"):
        two_io.run(['q'], {'a': a, 'b': a})


def test_library_errors_from_run(tmp_path, has_device):
    """Errors only the library sees: sizes that disagree across inputs, an
    index out of range, an integer too large to be exact."""
    path = tmp_path / 'two_io.clg'
    path.write_text(TWO_IO)
    with clgraph.InferenceSession(str(path)) as sess:
        with pytest.raises(clgraph.InvalidArgument) as e:
            sess.run(None, {'a': np.zeros((2, 4), np.float32), 'b': np.zeros((3, 4), np.float32)})
        assert 'input b: dimension 0 is N = 3, but input a gave N = 2' in str(e.value)
    path = tmp_path / 'gather.clg'
    path.write_text(GATHER)
    with clgraph.InferenceSession(str(path)) as sess:
        ids = np.array([[0, 4, 2]], np.int64)
        (e_ok,) = sess.run(None, {'ids': ids})
        assert e_ok.shape == (1, 3, 3)
        np.testing.assert_array_equal(e_ok[0, 0], sess.run(None, {'ids': np.zeros((1, 1), np.int64)})[0][0, 0])
        with pytest.raises(clgraph.InvalidArgument, match=r'node e \(Gather\): an index is out of range'):
            sess.run(None, {'ids': np.array([[0, 7]], np.int64)})
        with pytest.raises(clgraph.InvalidArgument) as e:
            sess.run(None, {'ids': np.array([[1 << 30]], np.int64)})
        assert 'ids' in str(e.value) and str(1 << 30) in str(e.value)


HALF = """
input x: f16[N, 4]
y = Mul(x, x)
h = Cast(y) to="f16"
output y
output h
"""


def test_float16_io(tmp_path):
    """f16 inputs and outputs are numpy float16 arrays (IEEE half bits both
    ways): x * x is computed in f32 (exact: 22 significant bits), Cast to f16
    rounds it as NumPy's astype(float16) does (to nearest, ties to even,
    past 65504 inf)."""
    path = tmp_path / 'half.clg'
    path.write_text(HALF)
    with clgraph.InferenceSession(str(path)) as sess:
        assert [(a.type, a.dtype) for a in sess.get_inputs()] == [('tensor(float16)', np.float16)]
        assert [a.type for a in sess.get_outputs()] == ['tensor(float)', 'tensor(float16)']
        x = np.array([[-2, 0.1, 65504, 6e-8], [np.inf, 1, -1.5, 3.14]], np.float16)
        y, h = sess.run(None, {'x': x})
        assert y.dtype == np.float32 and h.dtype == np.float16
        want = x.astype(np.float32) * x.astype(np.float32)
        np.testing.assert_array_equal(y, want)
        with np.errstate(over='ignore'):  # 65504 ** 2 becomes inf, as it should
            want16 = want.astype(np.float16)
        assert not np.array_equal(want, want16)  # rounding happens
        np.testing.assert_array_equal(h.view(np.uint16), want16.view(np.uint16))
        with pytest.raises(clgraph.InvalidArgument, match=r"input 'x': expected tensor\(float16\)"):
            sess.run(None, {'x': x.astype(np.float32)})


# --------------------------------------------------------------- releasing

def test_close_and_context_manager(has_device):
    sess = clgraph.InferenceSession(fixture_path('example_mlp'))
    x = np.zeros((1, 128), np.float32)
    sess.run(None, {'x': x})
    sess.close()
    sess.close()  # again: nothing
    with pytest.raises(clgraph.InvalidArgument, match='closed'):
        sess.run(None, {'x': x})
    with clgraph.InferenceSession(fixture_path('example_mlp')) as s2:
        s2.run(None, {'x': x})
    assert not s2._m and not s2._ctx and not s2._g
    del sess, s2  # __del__ after close: nothing


def test_failed_open_releases(has_device):
    """A session that fails after its graph loaded (no such device: the
    library still made a context, to carry the message) releases both."""
    sess = clgraph.InferenceSession.__new__(clgraph.InferenceSession)
    with pytest.raises(clgraph.DeviceNotFound):
        sess.__init__(fixture_path('example_mlp'), device='no such device anywhere')
    assert not sess._g and not sess._ctx and not sess._m


# ----------------------------------------------------------- finding the library

def _import_in_subprocess(env, cwd):
    env = dict(os.environ, **env)
    code = 'import clgraph, sys; sys.stdout.write(clgraph.library_path)'
    return subprocess.run([sys.executable, '-c', code], env=env, cwd=cwd, capture_output=True, text=True)


def test_library_from_environment(tmp_path):
    import clgraph._lib
    r = _import_in_subprocess({'CLGRAPH_LIBRARY': clgraph.library_path,
                               'PYTHONPATH': os.path.dirname(os.path.dirname(clgraph.__file__))}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == clgraph.library_path
    r = _import_in_subprocess({'CLGRAPH_LIBRARY': str(tmp_path / 'libnothing.so'),
                               'PYTHONPATH': os.path.dirname(os.path.dirname(clgraph.__file__))}, tmp_path)
    assert r.returncode != 0
    assert 'ImportError' in r.stderr and 'CLGRAPH_LIBRARY' in r.stderr and 'libnothing.so' in r.stderr


def test_library_not_found_lists_what_was_tried(tmp_path):
    """The package copied where no build/ is beside it, without
    CLGRAPH_LIBRARY: ImportError listing every place tried."""
    import ctypes.util
    import shutil
    if ctypes.util.find_library('clgraph'):
        pytest.skip('a libclgraph is installed on this system')
    shutil.copytree(os.path.join(os.path.dirname(HERE), 'clgraph'), tmp_path / 'pkg' / 'clgraph',
                    ignore=shutil.ignore_patterns('_source.py', '__pycache__', 'libclgraph*'))
    env = {'PYTHONPATH': str(tmp_path / 'pkg'), 'CLGRAPH_LIBRARY': ''}
    r = _import_in_subprocess(env, tmp_path)
    assert r.returncode != 0
    for what in ('CLGRAPH_LIBRARY', 'bundled', "find_library('clgraph')", str(tmp_path / 'build')):
        assert what in r.stderr, (what, r.stderr)


def test_threads_share_a_session(has_device):
    """run() from several threads at once: each gets its own inputs' result."""
    import threading
    from conftest import relative_error
    x = np.load(fixture_path('example_mlp', 'input.npy'))
    want = np.load(fixture_path('example_mlp', 'output.npy'))
    errors = []
    with clgraph.InferenceSession(fixture_path('example_mlp')) as sess:
        def work(k):
            try:
                for r in range(10):
                    rows = slice((k + r) % len(x), (k + r) % len(x) + 1)
                    (y,) = sess.run(None, {'x': x[rows]})
                    assert relative_error(y, want[rows]) <= 1e-4
            except BaseException as e:  # reported below, from the main thread
                errors.append(e)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
