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

#endif
