/* The public context constructors: open the device and resolve the
 * settings (runtime/cl/), check the GEMM variant a setting names against
 * the GEMM family (runtime/gemm/), then apply the CLBlast parameters
 * `clgraph tune` stored for the device (runtime/tune/), so the OpenCL
 * plumbing never calls into tuning or the kernel families. */
#include <stdio.h>
#include <string.h>

#include "gemm.h"
#include "runtime.h"
#include "tuning.h"

/* "generated:NAME" must name a variant, or a packed one with "t" (its
 * flipped form, for a convolution's GEMM), as runtime/gemm/choice.c reads
 * it. Only a setting given through the API is checked: CLGRAPH_GEMM keeps
 * its old leniency (an unknown NAME runs the default variant). */
static clg_status check_gemm_variant(clg_context *ctx, const clg_context_options *options)
{
    const char *v = options ? options->gemm : NULL;
    if (!v || strncmp(v, "generated:", 10) != 0) return CLG_OK;
    const char *name = v + 10;
    bool flipped;
    if (clg_gemm_variant_parse(name, &flipped) >= 0) return CLG_OK;
    char names[512];
    size_t used = 0;
    names[0] = '\0';
    for (int i = 0; i < CLG_GEMM_VARIANTS && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 clg_gemm_variants[i].name);
    return clg_ctx_fail(ctx, CLG_ERR_INVALID_ARGUMENT,
                        "gemm option '%s': no variant %s (variants: %s; a packed one, p... or l...p, "
                        "may end in t for a convolution's flipped product, i for its implicit GEMM, f or g for "
                        "Winograd F(2x2) or F(4x4), d (p4x64, p8x32) for the direct convolution; a vector one, "
                        "n...x16, in w for a pointwise one read in place)",
                        v, name, names);
}

clg_status clg_context_create_ex(clg_context **out, const char *spec, int flags,
                                 const clg_context_options *options, clg_alloc_fn alloc, void *user)
{
    clg_status s = clg_context_open(out, spec, flags, options, alloc, user);
    if (s == CLG_OK) s = check_gemm_variant(*out, options);
    /* Every model on this device then runs CLBlast with its tuned parameters. */
    if (s == CLG_OK && !(flags & CLG_CONTEXT_UNTUNED)) clg_tuning_apply(*out);
    return s;
}

clg_status clg_context_create(clg_context **out, const char *spec, int flags, clg_alloc_fn alloc,
                              void *user)
{
    return clg_context_create_ex(out, spec, flags, NULL, alloc, user);
}

clg_status clg_context_create_borrowed_ex(clg_context **out, void *cl_context_handle,
                                          void *cl_command_queue_handle, int flags,
                                          const clg_context_options *options, clg_alloc_fn alloc,
                                          void *user)
{
    clg_status s = clg_context_open_borrowed(out, cl_context_handle, cl_command_queue_handle, flags,
                                             options, alloc, user);
    if (s == CLG_OK) s = check_gemm_variant(*out, options);
    if (s == CLG_OK && !(flags & CLG_CONTEXT_UNTUNED)) clg_tuning_apply(*out);
    return s;
}

clg_status clg_context_create_borrowed(clg_context **out, void *cl_context_handle,
                                       void *cl_command_queue_handle, clg_alloc_fn alloc, void *user)
{
    return clg_context_create_borrowed_ex(out, cl_context_handle, cl_command_queue_handle, 0, NULL,
                                          alloc, user);
}
