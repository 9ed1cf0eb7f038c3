/* Grid sizes, size limits and strided walks shared by the lowerings. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lower_util.h"

size_t clg_grid_size(int64_t n)
{
    return (size_t)((n + CLG_GRID_MULTIPLE - 1) / CLG_GRID_MULTIPLE * CLG_GRID_MULTIPLE);
}

clg_status clg_lower_fail(const clg_lower *lw, clg_status s, const char *fmt, ...)
{
    const clg_node *n = &lw->g->nodes[lw->node];
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return clg_ctx_fail(lw->ctx, s, "node %s (%s): %s", n->name, clg_op_name(n->op), text);
}

clg_status clg_check_elems(const clg_lower *lw, const clg_shape *s)
{
    int64_t count = clg_shape_count(s);
    if (count >= 0 && count <= INT_MAX) return CLG_OK;
    return clg_lower_fail(lw, CLG_ERR_UNSUPPORTED,
                          "tensors of more than %d elements are not supported (the kernels "
                          "index with int), this one has %lld", INT_MAX, (long long)count);
}

clg_dev_tensor clg_tensor_advance(const clg_dev_tensor *t, size_t elems)
{
    clg_dev_tensor r = *t;
    int64_t count = clg_shape_count(&t->shape);
    r.off += elems;
    r.shape.rank = 1;
    r.shape.dims[0] = count > (int64_t)elems ? count - (int64_t)elems : 0;
    return r;
}

void clg_dense_strides(const clg_shape *s, int64_t st[CLG_MAX_RANK])
{
    int64_t k = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = k;
        k *= s->dims[i];
    }
}

bool clg_broadcast_strides(const clg_shape *in, const clg_shape *out, int64_t st[CLG_MAX_RANK])
{
    int lead = out->rank - in->rank;
    if (lead < 0) return false;
    int64_t k = 1;
    for (int i = out->rank - 1; i >= 0; i--) {
        int j = i - lead;
        if (j < 0 || in->dims[j] == 1) {
            st[i] = 0;
        } else if (in->dims[j] == out->dims[i]) {
            st[i] = k;
        } else {
            return false;
        }
        if (j >= 0) k *= in->dims[j];
    }
    return true;
}

void clg_walk_merge(clg_walk *w)
{
    int r = 0;
    for (int i = 0; i < w->rank; i++) {
        if (w->dims[i] == 1) continue;
        bool merge = r > 0;
        for (int k = 0; merge && k < w->n_tensors; k++)
            if (w->st[k][r - 1] != w->st[k][i] * w->dims[i]) merge = false;
        if (merge) {
            w->dims[r - 1] *= w->dims[i];
            for (int k = 0; k < w->n_tensors; k++) w->st[k][r - 1] = w->st[k][i];
        } else {
            w->dims[r] = w->dims[i];
            for (int k = 0; k < w->n_tensors; k++) w->st[k][r] = w->st[k][i];
            r++;
        }
    }
    if (r == 0) {
        w->dims[0] = 1;
        for (int k = 0; k < w->n_tensors; k++) w->st[k][0] = 0;
        r = 1;
    }
    w->rank = r;
}

void clg_walk_grid_of(const clg_walk *w, clg_walk_grid *grid)
{
    int lead = w->rank > 3 ? w->rank - 3 : 0;
    grid->launches = 1;
    for (int i = 0; i < lead; i++) grid->launches *= w->dims[i];
    for (int d = 0; d < 3; d++) {
        bool in_walk = d < w->rank;
        grid->n[d] = in_walk ? w->dims[w->rank - 1 - d] : 1;
        for (int k = 0; k < CLG_WALK_TENSORS; k++)
            grid->st[k][d] = in_walk && k < w->n_tensors ? w->st[k][w->rank - 1 - d] : 0;
    }
    grid->global[0] = clg_grid_size(grid->n[0]);
    grid->global[1] = (size_t)grid->n[1];
    grid->global[2] = (size_t)grid->n[2];
}

bool clg_walk_grid_rows(const clg_walk_grid *grid, int per_item, int64_t max_n0, int *shift)
{
    *shift = 0;
    while (((int64_t)per_item << *shift) < grid->n[0]) (*shift)++;
    return grid->n[0] <= max_n0 && grid->n[1] > 1 && (grid->n[1] << *shift) <= INT32_MAX;
}

int64_t clg_walk_offset(const clg_walk *w, int k, int64_t launch)
{
    int lead = w->rank > 3 ? w->rank - 3 : 0;
    int64_t off = 0;
    for (int i = lead - 1; i >= 0; i--) {
        off += launch % w->dims[i] * w->st[k][i];
        launch /= w->dims[i];
    }
    return off;
}

cl_mem clg_zero_buffer(clg_context *ctx, const clg_shape *s, clg_dev_tensor *t)
{
    /* One element more, so that an empty shape still gets a buffer. */
    size_t bytes = ((size_t)clg_shape_count(s) + 1) * sizeof(float);
    cl_int err;
    cl_mem b = clCreateBuffer(ctx->cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) return NULL;
    float zero = 0.0f;
    if (clEnqueueFillBuffer(ctx->queue, b, &zero, sizeof zero, 0, bytes, 0, NULL, NULL) != CL_SUCCESS) {
        clReleaseMemObject(b);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->buf = b;
    t->shape = *s;
    return b;
}

int64_t clg_vec_rows_strip(int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                           int64_t dw)
{
    enum { MAX_OW = 128, ACC = 16, IN_ROWS = 18, MAX_ROW = 512 };
    int64_t ch = (ow + 15) / 16;
    int64_t row = (ch * 16 - 1) * sw + (kw - 1) * dw + 2;
    if (ow > MAX_OW || sw > 2 || row > MAX_ROW) return 0;
    int64_t r = ACC / ch;
    while (r > 1 && (r - 1) * sh + (kh - 1) * dh + 1 > IN_ROWS) r--;
    /* a window taller than that even for one row (a 7x7 one at dilation
     * 3): not these bodies */
    if ((r - 1) * sh + (kh - 1) * dh + 1 > IN_ROWS) return 0;
    return r < oh ? r : oh;
}
