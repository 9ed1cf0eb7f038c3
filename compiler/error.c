/* Status names and the per-graph last-error message. */
#include <stdio.h>

#include "ir.h"

const char *clg_status_string(clg_status status)
{
    switch (status) {
    case CLG_OK: return "CLG_OK: success";
    case CLG_ERR_INVALID_ARGUMENT: return "CLG_ERR_INVALID_ARGUMENT: invalid argument";
    case CLG_ERR_OUT_OF_MEMORY: return "CLG_ERR_OUT_OF_MEMORY: out of host memory";
    case CLG_ERR_PARSE: return "CLG_ERR_PARSE: syntax error";
    case CLG_ERR_INVALID_GRAPH: return "CLG_ERR_INVALID_GRAPH: invalid graph";
    case CLG_ERR_UNSUPPORTED: return "CLG_ERR_UNSUPPORTED: not supported";
    case CLG_ERR_IO: return "CLG_ERR_IO: file input/output failed";
    case CLG_ERR_FORMAT: return "CLG_ERR_FORMAT: malformed file contents";
    case CLG_ERR_OPENCL: return "CLG_ERR_OPENCL: OpenCL call failed";
    case CLG_ERR_DEVICE_NOT_FOUND: return "CLG_ERR_DEVICE_NOT_FOUND: no matching OpenCL device";
    case CLG_ERR_OUT_OF_DEVICE_MEMORY: return "CLG_ERR_OUT_OF_DEVICE_MEMORY: out of device memory";
    case CLG_ERR_BUILD: return "CLG_ERR_BUILD: OpenCL program build failed";
    case CLG_ERR_INTERNAL: return "CLG_ERR_INTERNAL: internal error in clgraph (a bug)";
    }
    return "CLG_ERR_?: unknown status";
}

int clg_version(void) { return CLG_VERSION_NUMBER; }

const char *clg_graph_errmsg(const clg_graph *g) { return g ? g->errmsg : "no graph (NULL)"; }

void clg_clear_error(clg_graph *g) { g->errmsg[0] = '\0'; }

clg_status clg_fail(clg_graph *g, clg_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->errmsg, sizeof g->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

clg_status clg_fail_node(clg_graph *g, clg_status status, int line, const char *name, clg_op op,
                         const char *fmt, ...)
{
    int n = 0;
    if (line > 0) n = snprintf(g->errmsg, sizeof g->errmsg, "line %d: ", line);
    const char *opname = clg_op_name(op);
    n += snprintf(g->errmsg + n, sizeof g->errmsg - (size_t)n, "node %s (%s): ", name ? name : "?",
                  opname ? opname : "?");
    if ((size_t)n >= sizeof g->errmsg) return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->errmsg + n, sizeof g->errmsg - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}
