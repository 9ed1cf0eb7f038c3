"""from_torch: PyTorch modules exported to memory and run, compared with
PyTorch's own output."""
import numpy as np
import pytest

import clgraph
from conftest import relative_error

torch = pytest.importorskip('torch')

TOLERANCE = 1e-4


class Residual(torch.nn.Module):
    """Two residual MLP blocks with LayerNorm and GELU, then a head."""

    def __init__(self, width=48, classes=7):
        super().__init__()
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.LayerNorm(width), torch.nn.Linear(width, 2 * width), torch.nn.GELU(),
                                torch.nn.Linear(2 * width, width)) for _ in range(2))
        self.head = torch.nn.Linear(width, classes)

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return self.head(torch.relu(x))


class Embedder(torch.nn.Module):
    """Token ids -> embeddings -> a linear layer: int64 input, symbolic S."""

    def __init__(self, vocab=50, width=16):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.proj = torch.nn.Linear(width, 5)

    def forward(self, ids):
        return self.proj(torch.tanh(self.embed(ids)))


def reference(module, *inputs):
    with torch.no_grad():
        return module.eval()(*inputs).numpy()


def test_residual_module_matches_pytorch(has_device):
    torch.manual_seed(0)
    module = Residual()
    x = torch.randn(4, 48)
    with clgraph.from_torch(module, x, dynamic_axes={'input': {0: 'N'}}) as sess:
        assert module.training  # from_torch put the module back in the mode it found it in
        (i,) = sess.get_inputs()
        (o,) = sess.get_outputs()
        assert (i.name, i.shape, i.type) == ('input', ['N', 48], 'tensor(float)')
        assert (o.name, o.shape) == ('output', ['N', 7])
        for batch in (4, 1, 9):
            xb = torch.randn(batch, 48)
            (got,) = sess.run(None, {'input': xb.numpy()})
            err = relative_error(got, reference(module, xb))
            assert err <= TOLERANCE, (batch, err)


def test_int64_ids_and_symbolic_sequence(has_device):
    torch.manual_seed(1)
    module = Embedder()
    ids = torch.randint(0, 50, (2, 6))
    with clgraph.from_torch(module, ids, dynamic_axes={'input': {0: 'N', 1: 'S'}}, opt_level=2) as sess:
        (i,) = sess.get_inputs()
        assert (i.shape, i.type) == (['N', 'S'], 'tensor(int64)')
        assert sess.get_outputs()[0].shape == ['N', 'S', 5]
        for shape in ((2, 6), (3, 11), (1, 1)):
            ids = torch.randint(0, 50, shape)
            (got,) = sess.run(None, {'input': ids.numpy()})
            assert got.shape == shape + (5,)
            assert relative_error(got, reference(module, ids)) <= TOLERANCE, shape


def test_several_inputs_and_outputs_fixed_shape(has_device):
    class Two(torch.nn.Module):
        def forward(self, a, b):
            return a * b + 1, torch.sigmoid(a - b)

    a, b = torch.randn(3, 5), torch.randn(3, 5)
    with clgraph.from_torch(Two(), (a, b)) as sess:
        assert [i.name for i in sess.get_inputs()] == ['input_0', 'input_1']
        assert [o.name for o in sess.get_outputs()] == ['output_0', 'output_1']
        assert sess.get_inputs()[0].shape == [3, 5]
        got = sess.run(None, {'input_0': a.numpy(), 'input_1': b.numpy()})
        want = Two()(a, b)
        for g, w in zip(got, want):
            assert relative_error(g, w.numpy()) <= TOLERANCE
        with pytest.raises(clgraph.InvalidArgument, match="input 'input_1': dimension 0 must be 3, got 4"):
            sess.run(None, {'input_0': a.numpy(), 'input_1': torch.randn(4, 5).numpy()})


def test_unsupported_op_is_reported(has_device):
    class Odd(torch.nn.Module):
        def forward(self, x):
            return torch.det(x)

    with pytest.raises(clgraph.Error) as e:
        clgraph.from_torch(Odd(), torch.randn(2, 3, 3), opset_version=17)
    assert e.value.status_name == 'CLG_ERR_UNSUPPORTED' and 'Det' in str(e.value)


def test_onnx_names_kept(has_device):
    """Names clgraph maps ('in:0' becomes 'in_0', docs/onnx.md "Names") are
    shown and taken as the model has them; clgraph's own are taken too."""
    class Relu(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x) * 2

    x = torch.randn(2, 3)
    with clgraph.from_torch(Relu(), x, input_names=['in:0'], output_names=['out:0']) as sess:
        assert [i.name for i in sess.get_inputs()] == ['in:0']
        assert [o.name for o in sess.get_outputs()] == ['out:0']
        want = (torch.relu(x) * 2).numpy()
        np.testing.assert_array_equal(sess.run(['out:0'], {'in:0': x.numpy()})[0], want)
        np.testing.assert_array_equal(sess.run(['out_0'], {'in_0': x.numpy()})[0], want)
