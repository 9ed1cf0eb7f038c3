/* Test and benchmark models written as text: a residual MLP of any depth and
 * width, and a small ResNet-style CNN. The text is malloc'd; free() it. */
#ifndef CLG_TEST_MODELS_H
#define CLG_TEST_MODELS_H

/* `blocks` Keras-style residual blocks of the given width on input [N, width],
 * then Dense(10) + Softmax. */
char *model_residual_mlp(int blocks, int width);

/* conv-BN-ReLU stem, max-pool, an identity block and a projection block
 * (stride 2, 1x1 shortcut), global average pool, flatten, Dense(10), Softmax,
 * on input [N, 3, 16, 16]. */
char *model_small_resnet(void);

/* Keras' padding as tf2onnx exports it, on input [N, 3, 19, 18]: zero Pads
 * before a 7x7 stride-2 stem, a max-pool, a stride-2 conv (asymmetric) and
 * an average pool, which -O1 folds into them, and a reflect Pad, which it
 * keeps. */
char *model_keras_padded_cnn(void);

#endif
