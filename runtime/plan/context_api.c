/* The public context constructors: open the device (runtime/cl/), then
 * apply the CLBlast parameters `clgraph tune` stored for it (runtime/tune/),
 * so the OpenCL plumbing never calls into tuning. */
#include "runtime.h"
#include "tuning.h"

clg_status clg_context_create(clg_context **out, const char *spec, int flags, clg_alloc_fn alloc,
                              void *user)
{
    clg_status s = clg_context_open(out, spec, flags, alloc, user);
    /* Every model on this device then runs CLBlast with its tuned parameters. */
    if (s == CLG_OK && !(flags & CLG_CONTEXT_UNTUNED)) clg_tuning_apply(*out);
    return s;
}

clg_status clg_context_create_borrowed(clg_context **out, void *cl_context_handle,
                                       void *cl_command_queue_handle, clg_alloc_fn alloc, void *user)
{
    clg_status s = clg_context_open_borrowed(out, cl_context_handle, cl_command_queue_handle, alloc, user);
    if (s == CLG_OK) clg_tuning_apply(*out);
    return s;
}
