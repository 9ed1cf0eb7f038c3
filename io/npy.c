/* Placeholder: .npy reading and writing is being written. */
#include "ir.h"

clg_status clg_graph_read_npy(clg_graph *g, const char *path, int input_index, clg_tensor *out)
{
    (void)path; (void)input_index; (void)out;
    return g ? clg_fail(g, CLG_ERR_UNSUPPORTED, "not written yet") : CLG_ERR_INVALID_ARGUMENT;
}

void clg_graph_free_tensor(clg_graph *g, clg_tensor *t) { (void)g; (void)t; }

clg_status clg_graph_write_npy(clg_graph *g, const char *path, const clg_tensor *t)
{
    (void)path; (void)t;
    return g ? clg_fail(g, CLG_ERR_UNSUPPORTED, "not written yet") : CLG_ERR_INVALID_ARGUMENT;
}
