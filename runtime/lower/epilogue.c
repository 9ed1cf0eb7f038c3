/* The epilogue prelude and arguments (the contract: epilogue.h). */
#include "epilogue.h"

#include "expr.h"
#include "lower_util.h"

size_t clg_epilogue_prelude(const clg_epilogue *ep, char *buf, size_t size)
{
    clg_text t = {buf, size, 0};
    if (size) buf[0] = '\0';
    if (!ep) return 0;
    const clg_expr *e = ep->e;
    int n_inputs = ep->n_inputs;
    clg_text_printf(&t, "/* epilogue: ");
    clg_expr_write(e, &t);
    clg_text_printf(&t, " */\n");
    clg_expr_write_opencl_helpers(e, &t);
    clg_text_printf(&t, "#define EPILOGUE 1\n#define EPILOGUE_ARGS");
    for (int k = 1; k < n_inputs; k++)
        clg_text_printf(&t, " , __global const float *x%d, uint x%d_off, int x%d_sr, int x%d_sc", k, k, k, k);
    clg_text_printf(&t, "\n#define EPILOGUE_PASS");
    for (int k = 1; k < n_inputs; k++) clg_text_printf(&t, " , x%d, x%d_off, x%d_sr, x%d_sc", k, k, k, k);
    clg_text_printf(&t, "\nfloat clg_epilogue(float v0, int r, int c EPILOGUE_ARGS)\n{\n");
    for (int k = 1; k < n_inputs; k++)
        if (e->inputs_used & (1u << k))
            clg_text_printf(&t, "    float v%d = x%d[x%d_off + r * x%d_sr + c * x%d_sc];\n", k, k, k, k, k);
    clg_text_printf(&t, "    return ");
    clg_expr_write_opencl(e, &t);
    clg_text_printf(&t, ";\n}\n");
    /* The same over 16 neighbouring columns c.. c + 15 (the packed GEMM
     * kernels' stores): inputs that run along the row load as one vector,
     * ones constant along it broadcast. */
    clg_expr_write_opencl_helpers_vector(e, &t, 16);
    clg_text_printf(&t, "float16 clg_load16(__global const float *p, int sc)\n{\n"
                        "    if (sc == 1) return vload16(0, p);\n"
                        "    if (sc == 0) return (float16)(p[0]);\n"
                        "    float part[16];\n"
                        "    for (int l = 0; l < 16; l++) part[l] = p[l * sc];\n"
                        "    return vload16(0, part);\n}\n");
    clg_text_printf(&t, "float16 clg_epilogue16(float16 v0, int r, int c EPILOGUE_ARGS)\n{\n");
    for (int k = 1; k < n_inputs; k++)
        if (e->inputs_used & (1u << k))
            clg_text_printf(&t, "    float16 v%d = clg_load16(x%d + x%d_off + r * x%d_sr + c * x%d_sc, x%d_sc);\n", k,
                            k, k, k, k, k);
    clg_text_printf(&t, "    return ");
    clg_expr_write_opencl_vector(e, &t, 16);
    clg_text_printf(&t, ";\n}\n");
    return t.len;
}

int clg_epilogue_args(const clg_epilogue *ep, clg_karg *args, int room)
{
    int a = 0;
    clg_shape out = {2, {ep->rows, ep->cols}};
    for (int k = 1; k < ep->n_inputs; k++) {
        int64_t st[CLG_MAX_RANK];
        if (a + 3 > room || !clg_broadcast_strides(&ep->in[k].shape, &out, st)) return -1;
        args[a++] = CLG_ARG_T(&ep->in[k]);
        args[a++] = CLG_ARG_I(st[0]);
        args[a++] = CLG_ARG_I(st[1]);
    }
    return a;
}
