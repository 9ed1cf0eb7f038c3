"""Step 1 of the Keras example (docs/python.md): a Keras model converted to
ONNX by tf2onnx, saved with a sample input and Keras' own output for it.
Runs in an environment with tensorflow and tf2onnx:

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu tf2onnx
    /tmp/tfenv/bin/python keras_export.py /tmp/keras_mlp

clgraph runs the model in another process (keras_run.py): TensorFlow's
libraries export LLVM's symbols, and PoCL loaded into the same process
binds to them and crashes (docs/python.md, "TensorFlow and PoCL")."""
import os
import sys

import numpy as np
import tensorflow as tf
import tf2onnx

out_dir = sys.argv[1] if len(sys.argv) > 1 else 'keras_mlp'
os.makedirs(out_dir, exist_ok=True)

# A residual MLP over a sequence whose length is left open (None).
inp = tf.keras.Input(shape=(None, 32), name='x')
h = tf.keras.layers.Dense(64, activation='relu')(inp)
h = tf.keras.layers.Dense(32)(h)
h = tf.keras.layers.LayerNormalization()(inp + h)
out = tf.keras.layers.Dense(10, name='logits')(h)
model = tf.keras.Model(inp, out)

spec = (tf.TensorSpec((None, None, 32), tf.float32, name='x'),)
tf2onnx.convert.from_keras(model, input_signature=spec, opset=15,
                           output_path=os.path.join(out_dir, 'model.onnx'))
for i, (batch, seq) in enumerate(((2, 7), (3, 12))):
    x = np.random.default_rng(i).standard_normal((batch, seq, 32)).astype(np.float32)
    np.save(os.path.join(out_dir, 'x%d.npy' % i), x)
    np.save(os.path.join(out_dir, 'keras%d.npy' % i), model(x).numpy())
