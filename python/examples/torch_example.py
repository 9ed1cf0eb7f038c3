"""The PyTorch example of docs/python.md: a residual module run by clgraph
straight from PyTorch (from_torch) and from an exported ONNX file, checked
against PyTorch's own output."""
import os
import tempfile

import numpy as np
import torch

import clgraph


class Block(torch.nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(width, 4 * width), torch.nn.GELU(),
                                       torch.nn.Linear(4 * width, width))
        self.head = torch.nn.Linear(width, 10)

    def forward(self, x):
        return self.head(x + self.mlp(self.norm(x)))


torch.manual_seed(0)
model = Block().eval()
x = torch.randn(8, 64)
with torch.no_grad():
    want = model(x).numpy()

# 1. Straight from the module: exported to memory, batch left open.
sess = clgraph.from_torch(model, x, dynamic_axes={'input': {0: 'N'}})
print(sess.get_inputs(), sess.get_outputs(), sess.get_device().name, sep='\n')
(y,) = sess.run(None, {'input': x.numpy()})
print('from_torch: max abs error vs PyTorch %.2e' % np.abs(y - want).max())

# 2. From an exported file, the way ONNX Runtime is called.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, 'block.onnx')
    torch.onnx.export(model, x, path, input_names=['x'], output_names=['logits'],
                      dynamic_axes={'x': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=17)
    with clgraph.InferenceSession(path, opt_level=2) as sess2:
        (y2,) = sess2.run(['logits'], {'x': x.numpy()})
print('ONNX file:  max abs error vs PyTorch %.2e' % np.abs(y2 - want).max())
assert np.abs(y - want).max() < 1e-4 and np.abs(y2 - want).max() < 1e-4
