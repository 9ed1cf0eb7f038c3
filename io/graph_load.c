/* clg_graph_load: a model file of either format, told apart by its name
 * and first byte, so the text parser (compiler/) need not know ONNX. */
#include <stdio.h>
#include <string.h>

#include "ir.h"
#include "onnx_detect.h"
#include "weights_file.h"

clg_status clg_graph_load(clg_graph *g, const char *path)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!path) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "path is NULL");
    char *text = NULL;
    size_t len = 0;
    clg_status s = clg_read_file(g, path, &text, &len);
    if (s) return s;
    bool onnx = clg_onnx_detect(path, text, len);
    /* Sidecar weights are named relative to the model file. */
    const char *slash = onnx ? NULL : strrchr(path, '/');
    char *dir = NULL;
    if (slash) {
        size_t n = (size_t)(slash - path) + 1;
        if (!(dir = clg_malloc(g, n + 1))) {
            clg_free(g, text);
            return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory loading %s", path);
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    s = onnx ? clg_graph_parse_onnx(g, text, len) : clg_graph_parse(g, text, len, dir);
    if (s && s != CLG_ERR_OUT_OF_MEMORY) {
        char msg[sizeof g->errmsg];
        snprintf(msg, sizeof msg, "%s", g->errmsg);
        clg_fail(g, s, "%s: %s", path, msg);
    }
    clg_free(g, dir);
    clg_free(g, text);
    return s;
}
