"""Step 2 of the Keras example (docs/python.md): the tf2onnx model run by
clgraph at two batch and sequence sizes, compared with Keras' outputs."""
import os
import sys

import numpy as np

import clgraph

model_dir = sys.argv[1] if len(sys.argv) > 1 else 'keras_mlp'
sess = clgraph.InferenceSession(os.path.join(model_dir, 'model.onnx'))
print(sess.get_inputs(), sess.get_outputs(), sess.get_device().name, sep='\n')
name = sess.get_inputs()[0].name
for i in range(2):
    x = np.load(os.path.join(model_dir, 'x%d.npy' % i))
    want = np.load(os.path.join(model_dir, 'keras%d.npy' % i))
    (y,) = sess.run(None, {name: x})
    err = np.abs(y - want).max()
    print('input %s -> output %s, max abs error vs Keras %.2e' % (x.shape, y.shape, err))
    assert err < 1e-4
