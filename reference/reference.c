/* Placeholder: the reference executor is being written. */
#include "ir.h"

clg_status clg_graph_run_reference(clg_graph *g, const clg_tensor *inputs, int n_inputs,
                                   clg_tensor *outputs, int n_outputs)
{
    (void)inputs; (void)n_inputs; (void)outputs; (void)n_outputs;
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    return clg_fail(g, CLG_ERR_UNSUPPORTED, "the reference executor is not written yet");
}
