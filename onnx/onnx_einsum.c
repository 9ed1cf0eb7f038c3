/* Einsum (opset 12) as the graph ops it is made of: per operand a
 * ReduceSum of the labels nothing else uses, then operands folded left to
 * right, each pair as one batched MatMul between Transposes and Reshapes
 * (labels in both and still needed are the batch; in both and no longer
 * needed, the contraction; in one only, the rows or the columns), then a
 * Transpose to the output's order. So attention written as
 * einsum("bhqd,bhkd->bhqk") becomes one MatMul of a transposed K, and the
 * optimizer and the GEMM kernels see ordinary nodes.
 *
 * Supported: any number of float operands, explicit ("ij,jk->ik") or
 * implicit ("ij,jk": the labels used once, in ASCII order) outputs,
 * broadcasting "..." and size-1 batch labels. Refused by name: a label
 * repeated within one operand (a diagonal, "ii->i") and an operand or
 * output summed to a scalar (clgraph tensors have rank 1 or more). */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

#define N_LETTERS 52                           /* a-z, A-Z */
#define MAX_LABELS (N_LETTERS + CLG_MAX_RANK) /* then the dims of "..." */

/* One operand or intermediate result: its node and each dim's label. */
typedef struct term {
    int node, rank;
    int label[CLG_MAX_RANK];
} term;

static int letter_label(char c)
{
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + c - 'A';
    return -1;
}

static const clg_shape *shape_of(ox_ctx *ox, int node) { return &ox->g->nodes[node].shape; }

static bool has(const term *t, int l)
{
    for (int k = 0; k < t->rank; k++)
        if (t->label[k] == l) return true;
    return false;
}

/* Parses one subscript of a term with `rank` dims (an input's, or -1 for
 * the output: "..." then spans `ell` dims) into labels. */
static clg_status parse_term(ox_ctx *ox, const char *s, size_t len, int rank, int ell, int *labels, int *n,
                             int *ell_out, const char *what)
{
    int letters = 0, dots = 0;
    for (size_t k = 0; k < len; k++) {
        if (letter_label(s[k]) >= 0) letters++;
        else if (s[k] == '.' && k + 2 < len && s[k + 1] == '.' && s[k + 2] == '.') {
            if (dots++) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s has more than one '...'", what);
            k += 2;
        } else {
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s: '%c' is not a label (a-z, A-Z or '...')", what, s[k]);
        }
    }
    int e = 0;
    if (rank >= 0) {
        if (dots ? letters > rank : letters != rank)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s has %d labels for an input of rank %d", what, letters,
                           rank);
        e = dots ? rank - letters : 0;
    } else {
        e = dots ? ell : 0;
    }
    if (letters + e > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s has more than %d dims", what, CLG_MAX_RANK);
    *n = 0;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '.') {
            /* "..." dims align at the right across operands (NumPy's
             * broadcasting): the last of them is label MAX_LABELS - 1. */
            for (int d = 0; d < e; d++) labels[(*n)++] = MAX_LABELS - e + d;
            k += 2;
        } else {
            labels[(*n)++] = letter_label(s[k]);
        }
    }
    if (ell_out) *ell_out = e;
    for (int a = 0; a < *n; a++)
        for (int b = a + 1; b < *n; b++)
            if (labels[a] == labels[b])
                return ox_fail(ox, rank >= 0 ? CLG_ERR_UNSUPPORTED : CLG_ERR_INVALID_GRAPH,
                               rank >= 0 ? "%s repeats label '%c' (a diagonal), which is not supported"
                                         : "%s repeats label '%c'",
                               what, labels[a] < 26 ? 'a' + labels[a] : 'A' + labels[a] - 26);
    return CLG_OK;
}

static clg_status append(ox_ctx *ox, clg_op op, ox_value *out, int from, const clg_attrs *a, int *node)
{
    return ox_append(ox, op, out, out ? NULL : "einsum", &from, 1, a, node);
}

/* t's dims in the order of labels[0..n) (each one of t's); out as in
 * ox_append. No node when the order is already t's and out is NULL. */
static clg_status permute(ox_ctx *ox, term *t, const int *labels, int n, ox_value *out)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_TRANSPOSE, &a);
    a.perm_rank = n;
    bool same = true;
    for (int k = 0; k < n; k++) {
        int from = 0;
        while (t->label[from] != labels[k]) from++;
        a.perm[k] = from;
        same = same && from == k;
    }
    if (same && !out) return CLG_OK;
    clg_status s = append(ox, same ? CLG_OP_IDENTITY : CLG_OP_TRANSPOSE, out, t->node,
                          same ? NULL : &a, &t->node);
    if (s) return s;
    memcpy(t->label, labels, (size_t)n * sizeof *labels);
    return CLG_OK;
}

/* A Reshape of node `from` to `rank` dims (symbolic ones allowed); out as
 * in ox_append. No node when the shape is already that and out is NULL. */
static clg_status reshape(ox_ctx *ox, int *from, int rank, const int64_t *dims, ox_value *out)
{
    const clg_shape *xs = shape_of(ox, *from);
    bool same = xs->rank == rank;
    for (int k = 0; same && k < rank; k++) same = xs->dims[k] == dims[k];
    if (same && !out) return CLG_OK;
    clg_attrs a;
    clg_attrs_default(CLG_OP_RESHAPE, &a);
    a.shape_rank = rank;
    for (int k = 0; k < rank; k++) {
        int64_t d = dims[k];
        a.shape[k] = !clg_dim_is_symbolic(d) ? d : k < xs->rank && xs->dims[k] == d ? 0 : clg_reshape_value(d);
    }
    return append(ox, CLG_OP_RESHAPE, out, *from, &a, from);
}

/* The product of t's dims labelled labels[0..n) (1 for none). */
static clg_status product(ox_ctx *ox, const term *t, const int *labels, int n, int64_t *out)
{
    const clg_shape *sh = shape_of(ox, t->node);
    *out = 1;
    for (int k = 0; k < n; k++)
        for (int d = 0; d < t->rank; d++)
            if (t->label[d] == labels[k] && clg_dim_mul(ox->g, *out, sh->dims[d], out))
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a product of sizes does not fit the size table");
    return CLG_OK;
}

/* The size of label l in t. */
static int64_t size_of(ox_ctx *ox, const term *t, int l)
{
    for (int d = 0; d < t->rank; d++)
        if (t->label[d] == l) return shape_of(ox, t->node)->dims[d];
    return 1;
}

/* Sums t over every label not in keep[]. */
static clg_status sum_out(ox_ctx *ox, term *t, const bool *keep, int index)
{
    clg_attrs a;
    clg_attrs_default(CLG_OP_REDUCE_SUM, &a);
    a.keepdims = 0;
    int rest = 0;
    for (int d = 0; d < t->rank; d++) {
        if (keep[t->label[d]]) t->label[rest++] = t->label[d];
        else a.axes[a.axes_rank++] = d;
    }
    if (!a.axes_rank) return CLG_OK;
    if (!rest)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "operand %d is summed to a scalar; clgraph tensors have rank 1 or more", index);
    t->rank = rest;
    return append(ox, CLG_OP_REDUCE_SUM, NULL, t->node, &a, &t->node);
}

/* A's and B's labels by role in their product: in both and still needed
 * (keep), the batch; in both and not, summed; in A only, the rows; in B
 * only, the columns; each in its operand's order. */
static void classify(const term *A, const term *B, const bool *keep, int *batch, int *nb, int *rows, int *nr,
                     int *cols, int *nc, int *sum, int *ns)
{
    *nb = *nr = *nc = *ns = 0;
    for (int d = 0; d < A->rank; d++) {
        int l = A->label[d];
        if (!has(B, l)) rows[(*nr)++] = l;
        else if (keep[l]) batch[(*nb)++] = l;
        else sum[(*ns)++] = l;
    }
    for (int d = 0; d < B->rank; d++)
        if (!has(A, B->label[d])) cols[(*nc)++] = B->label[d];
}

/* A and B as one term: a MatMul of [batch, rows, contracted] by
 * [batch, contracted, columns] (keep[]: the labels still needed after it);
 * out: the ONNX output when this is the last node. */
static clg_status contract(ox_ctx *ox, term *A, term *B, const bool *keep, ox_value *out)
{
    int batch[CLG_MAX_RANK], rows[CLG_MAX_RANK], cols[CLG_MAX_RANK], sum[CLG_MAX_RANK];
    int nb, nr, nc, ns;
    classify(A, B, keep, batch, &nb, rows, &nr, cols, &nc, sum, &ns);
    if (nb + 2 > CLG_MAX_RANK || nb + nr + nc > CLG_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a product has more than %d dims", CLG_MAX_RANK);
    int order[CLG_MAX_RANK];
    int64_t dims[CLG_MAX_RANK], r, c, k;
    clg_status s;
    /* A as [batch..., rows, sum], B as [batch..., sum, cols]. */
    memcpy(order, batch, (size_t)nb * sizeof *order);
    memcpy(order + nb, rows, (size_t)nr * sizeof *order);
    memcpy(order + nb + nr, sum, (size_t)ns * sizeof *order);
    if ((s = permute(ox, A, order, A->rank, NULL))) return s;
    memcpy(order + nb, sum, (size_t)ns * sizeof *order);
    memcpy(order + nb + ns, cols, (size_t)nc * sizeof *order);
    if ((s = permute(ox, B, order, B->rank, NULL))) return s;
    if ((s = product(ox, A, rows, nr, &r)) || (s = product(ox, A, sum, ns, &k)) || (s = product(ox, B, cols, nc, &c)))
        return s;
    /* The result [batch..., rows..., cols...], sized before the reshapes
     * below change A's and B's nodes: a batch dim broadcast from 1 takes
     * the other operand's size. */
    term t = {.rank = nb + nr + nc};
    int64_t rdims[CLG_MAX_RANK];
    memcpy(t.label, batch, (size_t)nb * sizeof *t.label);
    memcpy(t.label + nb, rows, (size_t)nr * sizeof *t.label);
    memcpy(t.label + nb + nr, cols, (size_t)nc * sizeof *t.label);
    for (int d = 0; d < nb; d++) {
        int64_t a = size_of(ox, A, batch[d]), b = size_of(ox, B, batch[d]);
        rdims[d] = a == 1 ? b : a;
    }
    for (int d = 0; d < nr; d++) rdims[nb + d] = size_of(ox, A, rows[d]);
    for (int d = 0; d < nc; d++) rdims[nb + nr + d] = size_of(ox, B, cols[d]);
    /* A as [batch..., r, k], B as [batch..., k, c]. */
    for (int d = 0; d < nb; d++) dims[d] = size_of(ox, A, batch[d]);
    dims[nb] = r;
    dims[nb + 1] = k;
    if ((s = reshape(ox, &A->node, nb + 2, dims, NULL))) return s;
    for (int d = 0; d < nb; d++) dims[d] = size_of(ox, B, batch[d]);
    dims[nb] = k;
    dims[nb + 1] = c;
    if ((s = reshape(ox, &B->node, nb + 2, dims, NULL))) return s;
    bool reshaped = nr != 1 || nc != 1;
    int ab[2] = {A->node, B->node};
    if ((s = ox_append(ox, CLG_OP_MATMUL, reshaped ? NULL : out, reshaped || !out ? "einsum" : NULL, ab, 2, NULL,
                       &t.node)))
        return s;
    if (reshaped && (s = reshape(ox, &t.node, t.rank, rdims, out))) return s;
    *A = t;
    return CLG_OK;
}

clg_status ox_convert_einsum(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_out;
    const Onnx__AttributeProto *eq = ox_attr(n, "equation");
    if (!eq || !eq->has_s) return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute equation is required");
    char text[256];
    size_t len = 0;
    for (size_t k = 0; k < eq->s.len; k++) /* spaces are allowed and mean nothing */
        if (eq->s.data[k] != ' ') {
            if (len == sizeof text - 1)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the equation is longer than %zu characters", sizeof text - 1);
            text[len++] = (char)eq->s.data[k];
        }
    text[len] = 0;
    clg_status s = ox_require_float(ox, in, n_in);
    if (s) return s;
    const char *arrow = strstr(text, "->");
    size_t lhs = arrow ? (size_t)(arrow - text) : len;
    term stack[8], *t = stack;
    if (n_in > 8 && !(t = clg_malloc(ox->g, (size_t)n_in * sizeof *t))) return ox_oom(ox);
    int count[MAX_LABELS] = {0}, ell = 0;
    const char *p = text;
    for (int i = 0; i < n_in && !s; i++) {
        const char *e = memchr(p, ',', (size_t)(text + lhs - p));
        size_t tl = e ? (size_t)(e - p) : (size_t)(text + lhs - p);
        if (!e && i + 1 < n_in) {
            s = ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the equation '%s' has %d operands for %d inputs", text, i + 1,
                        n_in);
            break;
        }
        if (e && i + 1 == n_in) {
            s = ox_fail(ox, CLG_ERR_INVALID_GRAPH, "the equation '%s' has more operands than the %d inputs", text,
                        n_in);
            break;
        }
        if ((s = ox_tensor_node(ox, in[i], &t[i].node))) break;
        char what[32];
        snprintf(what, sizeof what, "operand %d", i);
        int e_dims;
        if ((s = parse_term(ox, p, tl, shape_of(ox, t[i].node)->rank, 0, t[i].label, &t[i].rank, &e_dims, what)))
            break;
        if (e_dims > ell) ell = e_dims;
        for (int d = 0; d < t[i].rank; d++) count[t[i].label[d]]++;
        p += tl + 1;
    }
    term o = {0};
    if (!s && arrow) {
        s = parse_term(ox, arrow + 2, len - lhs - 2, -1, ell, o.label, &o.rank, NULL, "the output");
        for (int d = 0; !s && d < o.rank; d++)
            if (!count[o.label[d]])
                s = ox_fail(ox, CLG_ERR_INVALID_GRAPH, "output dim %d of '%s' is labelled in no operand", d,
                            text);
    } else if (!s) { /* implicit: "..." then the labels used once, in ASCII order */
        for (int d = 0; d < ell; d++) o.label[o.rank++] = MAX_LABELS - ell + d;
        for (int pass = 0; pass < 2; pass++)
            for (int l = pass ? 0 : 26; l < (pass ? 26 : N_LETTERS); l++)
                if (count[l] == 1 && o.rank < CLG_MAX_RANK) o.label[o.rank++] = l;
    }
    if (!s && o.rank == 0)
        s = ox_fail(ox, CLG_ERR_UNSUPPORTED, "the output is a scalar; clgraph tensors have rank 1 or more");
    /* keep[l]: label l is still needed by the output or a later operand. */
    bool keep[MAX_LABELS];
    for (int i = 0; i < n_in && !s; i++) {
        memset(keep, 0, sizeof keep);
        for (int d = 0; d < o.rank; d++) keep[o.label[d]] = true;
        for (int j = 0; j < n_in; j++)
            for (int d = 0; j != i && d < t[j].rank; d++) keep[t[j].label[d]] = true;
        s = sum_out(ox, &t[i], keep, i);
    }
    /* The last node is the output's unless a final Transpose follows. */
    for (int i = 1; i < n_in && !s; i++) {
        memset(keep, 0, sizeof keep);
        for (int d = 0; d < o.rank; d++) keep[o.label[d]] = true;
        for (int j = i + 1; j < n_in; j++)
            for (int d = 0; d < t[j].rank; d++) keep[t[j].label[d]] = true;
        bool in_order = false;
        if (i == n_in - 1) { /* would the product come out in the output's order? */
            int b[CLG_MAX_RANK], r[CLG_MAX_RANK], c[CLG_MAX_RANK], sm[CLG_MAX_RANK], nb, nr, nc, ns;
            classify(&t[0], &t[i], keep, b, &nb, r, &nr, c, &nc, sm, &ns);
            in_order = nb + nr + nc == o.rank && !memcmp(o.label, b, (size_t)nb * sizeof *b) &&
                       !memcmp(o.label + nb, r, (size_t)nr * sizeof *r) &&
                       !memcmp(o.label + nb + nr, c, (size_t)nc * sizeof *c);
        }
        s = contract(ox, &t[0], &t[i], keep, in_order ? out[0] : NULL);
        if (!s && in_order) {
            out[0]->kind = OX_TENSOR;
            out[0]->node = t[0].node;
        }
    }
    if (!s && out[0]->kind != OX_TENSOR) {
        s = permute(ox, &t[0], o.label, o.rank, out[0]);
        if (!s) {
            out[0]->kind = OX_TENSOR;
            out[0]->node = t[0].node;
        }
    }
    if (t != stack) clg_free(ox->g, t);
    return s;
}
