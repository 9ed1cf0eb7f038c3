/* The epilogue prelude and arguments (the contract: epilogue.h). */
#include "epilogue.h"

#include "expr.h"
#include "lower_util.h"

/* Where xK's element for result element (row, col) sits (text). */
static void write_index(clg_text *t, const clg_epilogue *ep, int k, const char *row, const char *col)
{
    if (ep->p == 0)
        clg_text_printf(t, "x%d_off + %s * x%d_sr + %s * x%d_sc", k, row, k, col, k);
    else if (ep->p > 0)
        clg_text_printf(t, "x%d_off + (%s) / epi_p * x%d_sn + %s * x%d_sch + (%s) %% epi_p * x%d_sp", k, col, k,
                        row, k, col, k);
    else
        clg_text_printf(t, "x%d_off + (%s) / epi_p * x%d_sn + (%s) %% epi_p * x%d_sp + %s * x%d_sch", k, row, k,
                        row, k, col, k);
}

size_t clg_epilogue_prelude(const clg_epilogue *ep, bool half, char *buf, size_t size)
{
    clg_text t = {buf, size, 0};
    if (size) buf[0] = '\0';
    if (!ep) return 0;
    const clg_expr *e = ep->e;
    int n_inputs = ep->n_inputs;
    bool nchw = ep->p != 0;
    clg_text_printf(&t, "/* epilogue: ");
    clg_expr_write(e, &t);
    clg_text_printf(&t, " */\n");
    clg_expr_write_opencl_helpers_as(e, &t, 1, half);
    /* A convolution's pixels per image come as an argument, not in the
     * text: one program serves every shape with this expression. */
    clg_text_printf(&t, "#define EPILOGUE 1\n#define EPILOGUE_ARGS%s", nchw ? " , int epi_p" : "");
    for (int k = 1; k < n_inputs; k++) {
        if (nchw)
            clg_text_printf(&t, " , __global const store_t *x%d, uint x%d_off, int x%d_sn, int x%d_sch, int x%d_sp", k,
                            k, k, k, k);
        else
            clg_text_printf(&t, " , __global const store_t *x%d, uint x%d_off, int x%d_sr, int x%d_sc", k, k, k, k);
    }
    clg_text_printf(&t, "\n#define EPILOGUE_PASS%s", nchw ? " , epi_p" : "");
    for (int k = 1; k < n_inputs; k++) {
        if (nchw)
            clg_text_printf(&t, " , x%d, x%d_off, x%d_sn, x%d_sch, x%d_sp", k, k, k, k, k);
        else
            clg_text_printf(&t, " , x%d, x%d_off, x%d_sr, x%d_sc", k, k, k, k);
    }
    clg_text_printf(&t, "\nfloat clg_epilogue(float v0, int r, int c EPILOGUE_ARGS)\n{\n");
    for (int k = 1; k < n_inputs; k++)
        if (e->inputs_used & (1u << k)) {
            clg_text_printf(&t, "    float v%d = LOAD(x%d, ", k, k);
            write_index(&t, ep, k, "r", "c");
            clg_text_printf(&t, ");\n");
        }
    clg_text_printf(&t, "    return ");
    clg_expr_write_opencl_as(e, &t, 1, half);
    clg_text_printf(&t, ";\n}\n");
    /* Over an NCHW result, the element of image img, pixel px, channel c:
     * no division (kernels/gemm.cl's channel-by-channel store, which knows
     * its tile's image). */
    if (nchw) {
        clg_text_printf(&t, "#define EPILOGUE_NCHW 1\nfloat clg_epilogue_px(float v0, int img, int px, int c EPILOGUE_ARGS)\n{\n");
        for (int k = 1; k < n_inputs; k++)
            if (e->inputs_used & (1u << k))
                clg_text_printf(&t, "    float v%d = LOAD(x%d, x%d_off + img * x%d_sn + px * x%d_sp + c * x%d_sch);\n", k,
                                k, k, k, k, k);
        clg_text_printf(&t, "    return ");
        clg_expr_write_opencl_as(e, &t, 1, half);
        clg_text_printf(&t, ";\n}\n");
    }
    /* The same over 16 neighbouring columns c.. c + 15 (the packed GEMM
     * kernels' stores): inputs that run along the row load as one vector,
     * ones constant along it broadcast. A convolution's columns are pixels
     * (p > 0), which may run into the next image: then element by element. */
    clg_expr_write_opencl_helpers_as(e, &t, 16, half);
    clg_text_printf(&t, "float16 clg_load16(__global const store_t *p, int sc)\n{\n"
                        "    if (sc == 1) return LOADV(16, p);\n"
                        "    if (sc == 0) return (float16)(LOAD(p, 0));\n"
                        "    float part[16];\n"
                        "    for (int l = 0; l < 16; l++) part[l] = LOAD(p, l * sc);\n"
                        "    return vload16(0, part);\n}\n");
    clg_text_printf(&t, "float16 clg_epilogue16(float16 v0, int r, int c EPILOGUE_ARGS)\n{\n");
    for (int k = 1; k < n_inputs; k++) {
        if (!(e->inputs_used & (1u << k))) continue;
        if (ep->p > 0) {
            clg_text_printf(&t, "    float16 v%d;\n    if (c %% epi_p + 16 <= epi_p) {\n        v%d = clg_load16(x%d + ",
                            k, k, k);
            write_index(&t, ep, k, "r", "c");
            clg_text_printf(&t, ", x%d_sp);\n    } else {\n        float part[16];\n"
                                "        for (int l = 0; l < 16; l++) part[l] = LOAD(x%d, ", k, k);
            write_index(&t, ep, k, "r", "c + l");
            clg_text_printf(&t, ");\n        v%d = vload16(0, part);\n    }\n", k);
        } else {
            clg_text_printf(&t, "    float16 v%d = clg_load16(x%d + ", k, k);
            write_index(&t, ep, k, "r", "c");
            clg_text_printf(&t, ", x%d_%s);\n", k, nchw ? "sch" : "sc");
        }
    }
    clg_text_printf(&t, "    return ");
    clg_expr_write_opencl_as(e, &t, 16, half);
    clg_text_printf(&t, ";\n}\n");
    return t.len;
}

/* The pixel stride of an input with strides st over nchw (its H and W
 * folded into one pixel index), or false when it has none. */
static bool pixel_stride(const clg_shape *nchw, const int64_t *st, int64_t *sp)
{
    int64_t h = nchw->dims[2], w = nchw->dims[3];
    *sp = w > 1 ? st[3] : st[2];
    return h <= 1 || st[2] == w * *sp;
}

int clg_epilogue_args(const clg_epilogue *ep, clg_karg *args, int room)
{
    int a = 0;
    clg_shape out = {2, {ep->rows, ep->cols}};
    if (ep->p) {
        if (!ep->nchw || ep->nchw->rank != 4 || room < 1) return -1;
        out = *ep->nchw;
        args[a++] = CLG_ARG_I(ep->p < 0 ? -ep->p : ep->p);
    }
    for (int k = 1; k < ep->n_inputs; k++) {
        int64_t st[CLG_MAX_RANK], sp;
        if (a + (ep->p ? 4 : 3) > room || !clg_broadcast_strides(&ep->in[k].shape, &out, st)) return -1;
        args[a++] = CLG_ARG_T(&ep->in[k]);
        if (ep->p) {
            if (!pixel_stride(&out, st, &sp)) return -1;
            args[a++] = CLG_ARG_I(st[0]);
            args[a++] = CLG_ARG_I(st[1]);
            args[a++] = CLG_ARG_I(sp);
        } else {
            args[a++] = CLG_ARG_I(st[0]);
            args[a++] = CLG_ARG_I(st[1]);
        }
    }
    return a;
}
