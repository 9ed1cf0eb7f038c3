/* Whether a model file is ONNX: included by the text loader (parse.c),
 * which must not depend on the protobuf bindings. */
#ifndef CLG_ONNX_DETECT_H
#define CLG_ONNX_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "ir.h"

/* True when path ends in ".onnx" (any case) or data (the file's first len
 * bytes) starts with 0x08, the tag of ModelProto's ir_version, which
 * serializers write first and no text model can start with. */
CLG_INTERNAL bool clg_onnx_detect(const char *path, const char *data, size_t len);

#endif
