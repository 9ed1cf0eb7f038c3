/* A seeded generator of random residual networks in the text format, for
 * differential testing of the optimizer: residual blocks built from Dense or
 * Conv2D layers, BatchNorm before or after the activation, pre-activation
 * blocks, identity and projection shortcuts, values used twice, odd widths,
 * explicit Pads before 3x3 convolutions (Keras' "same" through tf2onnx).
 * The same seed always gives the same text. malloc'd; free() it. */
#ifndef CLG_TEST_RANDOM_GRAPH_H
#define CLG_TEST_RANDOM_GRAPH_H

#include <stdint.h>

char *random_graph(uint64_t seed);
/* A seeded transformer of 1 or 2 encoder blocks over x [N, S, d] (the
 * shapes of tests/fixtures' PyTorch and Keras exports): pre- or post-norm,
 * Q, K and V as one projection and Slices or as three projections of one
 * input, 1 to 4 heads, the scale on Q or the scores, sometimes a causal
 * mask (Expand + Trilu) and positions from Range, a GELU or ReLU FFN, a
 * value inside a block sometimes also an output. */
char *random_transformer(uint64_t seed);

#endif
