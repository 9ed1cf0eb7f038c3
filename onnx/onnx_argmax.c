/* ONNX ArgMax and ArgMin (opsets 1 to 13; select_last_index from 12) to
 * clgraph's ArgMax and ArgMin, whose result is i64 as ONNX's is. */
#include <string.h>

#include "onnx_internal.h"

clg_status ox_convert_argmax(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_in;
    (void)n_out;
    clg_op op = strcmp(n->op_type, "ArgMin") == 0 ? CLG_OP_ARGMIN : CLG_OP_ARGMAX;
    clg_status s;
    clg_attrs a;
    clg_attrs_default(op, &a);
    if ((s = ox_attr_int(ox, n, "axis", 0, &a.axis)) || (s = ox_attr_int(ox, n, "keepdims", 1, &a.keepdims)) ||
        (s = ox_attr_int(ox, n, "select_last_index", 0, &a.select_last_index)))
        return s;
    if (ox->opset < 12 && ox_attr(n, "select_last_index"))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute select_last_index is part of opset 12 on");
    if (ox->opset < 11 && a.axis < 0)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "a negative axis is allowed from opset 11 on");
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    if (ox->g->nodes[x].shape.rank == 1 && !a.keepdims)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "keepdims=0 on a rank-1 input gives a scalar, which clgraph tensors cannot be");
    if ((s = ox_append(ox, op, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
