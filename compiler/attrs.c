/* Attribute fields: their text names, kinds, and access by field id, so the
 * parser, printer, builder and importers share one description. */
#include <string.h>

#include "expr.h"

static const clg_field_info fields[CLG_F_COUNT] = {
    [CLG_F_ALPHA] = {"alpha", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_BETA] = {"beta", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_TRANS_A] = {"transA", CLG_ATTR_INT, 1, true},
    [CLG_F_TRANS_B] = {"transB", CLG_ATTR_INT, 1, true},
    [CLG_F_EPSILON] = {"epsilon", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_MIN] = {"min", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_MAX] = {"max", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_APPROXIMATE] = {"approximate", CLG_ATTR_INT, 1, true},
    [CLG_F_AXIS] = {"axis", CLG_ATTR_INT, 1, true},
    [CLG_F_KERNEL] = {"kernel_shape", CLG_ATTR_INTS, 2, true},
    [CLG_F_STRIDES] = {"strides", CLG_ATTR_INTS, 2, true},
    [CLG_F_PADS] = {"pads", CLG_ATTR_INTS, 4, true},
    [CLG_F_DILATIONS] = {"dilations", CLG_ATTR_INTS, 2, true},
    [CLG_F_GROUP] = {"group", CLG_ATTR_INT, 1, true},
    [CLG_F_CEIL_MODE] = {"ceil_mode", CLG_ATTR_INT, 1, true},
    [CLG_F_COUNT_INCLUDE_PAD] = {"count_include_pad", CLG_ATTR_INT, 1, true},
    [CLG_F_SHAPE] = {"shape", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_PERM] = {"perm", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_EXPR] = {"expr", CLG_ATTR_STRING, 1, true},
    /* Gemm, MatMul: stored in the same slot as expr (no op has both). */
    [CLG_F_EPILOGUE] = {"epilogue", CLG_ATTR_STRING, 1, true},
    /* Cast: a type name, "f32", "i64", "i32" or "bool" (stored as a clg_dtype). */
    [CLG_F_TO] = {"to", CLG_ATTR_STRING, 1, true},
    /* Pad: "pads" like the windows' field, but a begin and an end per dim
     * (no op has both); mode is a string stored as clg_pad_mode. */
    [CLG_F_PAD_AMOUNTS] = {"pads", CLG_ATTR_INTS, 2 * CLG_MAX_RANK, false},
    [CLG_F_PAD_MODE] = {"mode", CLG_ATTR_STRING, 1, true},
    [CLG_F_PAD_VALUE] = {"value", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_STARTS] = {"starts", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_ENDS] = {"ends", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_AXES] = {"axes", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_STEPS] = {"steps", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_REPEATS] = {"repeats", CLG_ATTR_INTS, CLG_MAX_RANK, false},
    [CLG_F_BLOCKSIZE] = {"blocksize", CLG_ATTR_INT, 1, true},
    /* DepthToSpace: one of two names, stored as mode_crd (see mode_names);
     * the same text name as Pad's mode (no op has both). */
    [CLG_F_BLOCK_MODE] = {"mode", CLG_ATTR_STRING, 1, true},
    [CLG_F_KEEPDIMS] = {"keepdims", CLG_ATTR_INT, 1, true},
    [CLG_F_SCALE] = {"scale", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_UPPER] = {"upper", CLG_ATTR_INT, 1, true},
    [CLG_F_TRILU_K] = {"k", CLG_ATTR_INT, 1, true},
    /* Resize: "mode" like Pad's and DepthToSpace's (no op has two of them);
     * the three strings are stored as enums (resize_names below). */
    [CLG_F_RESIZE_SIZES] = {"sizes", CLG_ATTR_INTS, 2, true},
    [CLG_F_HEIGHT_SCALE] = {"height_scale", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_WIDTH_SCALE] = {"width_scale", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_RESIZE_MODE] = {"mode", CLG_ATTR_STRING, 1, true},
    [CLG_F_COORD_MODE] = {"coordinate_transformation_mode", CLG_ATTR_STRING, 1, true},
    [CLG_F_NEAREST_MODE] = {"nearest_mode", CLG_ATTR_STRING, 1, true},
    [CLG_F_SELECT_LAST_INDEX] = {"select_last_index", CLG_ATTR_INT, 1, true},
    [CLG_F_START] = {"start", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_DELTA] = {"delta", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_CUBIC_COEFF_A] = {"cubic_coeff_a", CLG_ATTR_FLOAT, 1, true},
    [CLG_F_EXCLUDE_OUTSIDE] = {"exclude_outside", CLG_ATTR_INT, 1, true},
};

/* Pad's modes by clg_pad_mode, as the text and ONNX spell them. */
static const char *const pad_modes[CLG_PAD_MODE_COUNT] = {"constant", "reflect", "edge"};

/* DepthToSpace's modes, indexed by mode_crd: ONNX's names. */
static const char *const mode_names[2] = {"DCR", "CRD"};

/* Resize's string attributes, as ONNX spells them, indexed by their enums. */
static const char *const resize_modes[CLG_RESIZE_MODE_COUNT] = {"nearest", "linear", "cubic"};
static const char *const coord_modes[CLG_COORD_COUNT] = {
    "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"};
static const char *const nearest_modes[CLG_NEAREST_COUNT] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                                             "ceil"};

/* The names of an enum-valued string field of Resize, NULL for another field. */
static const char *const *resize_names(clg_attr_field f, int *count)
{
    switch (f) {
    case CLG_F_RESIZE_MODE: *count = CLG_RESIZE_MODE_COUNT; return resize_modes;
    case CLG_F_COORD_MODE: *count = CLG_COORD_COUNT; return coord_modes;
    case CLG_F_NEAREST_MODE: *count = CLG_NEAREST_COUNT; return nearest_modes;
    default: *count = 0; return NULL;
    }
}

static int resize_get(const clg_attrs *a, clg_attr_field f)
{
    return f == CLG_F_RESIZE_MODE ? (int)a->resize_mode : f == CLG_F_COORD_MODE ? (int)a->coord_mode
                                                                                : (int)a->nearest_mode;
}

static void resize_set(clg_attrs *a, clg_attr_field f, int v)
{
    if (f == CLG_F_RESIZE_MODE) a->resize_mode = (clg_resize_mode)v;
    else if (f == CLG_F_COORD_MODE) a->coord_mode = (clg_resize_coord)v;
    else a->nearest_mode = (clg_resize_nearest)v;
}

const clg_field_info *clg_field_get(clg_attr_field f) { return &fields[f]; }

bool clg_field_lookup(clg_op op, const char *name, size_t len, clg_attr_field *f)
{
    const clg_op_info *info = clg_op_get(op);
    if (!info) return false;
    for (int i = 0; i < info->n_attrs; i++) {
        const char *fname = fields[info->attrs[i]].name;
        if (strlen(fname) == len && memcmp(fname, name, len) == 0) {
            *f = info->attrs[i];
            return true;
        }
    }
    return false;
}

/* Where an INTS field lives, and its length slot (NULL: fixed length). */
static int64_t *ints_slot(clg_attrs *a, clg_attr_field f, int **len)
{
    *len = NULL;
    switch (f) {
    case CLG_F_KERNEL: return a->kernel;
    case CLG_F_STRIDES: return a->strides;
    case CLG_F_PADS: return a->pads;
    case CLG_F_DILATIONS: return a->dilations;
    case CLG_F_SHAPE: *len = &a->shape_rank; return a->shape;
    case CLG_F_PERM: *len = &a->perm_rank; return a->perm;
    case CLG_F_PAD_AMOUNTS: *len = &a->pad_count; return a->pad_amounts;
    case CLG_F_STARTS: *len = &a->starts_rank; return a->starts;
    case CLG_F_ENDS: *len = &a->ends_rank; return a->ends;
    case CLG_F_AXES: *len = &a->axes_rank; return a->axes;
    case CLG_F_STEPS: *len = &a->steps_rank; return a->steps;
    case CLG_F_REPEATS: *len = &a->repeats_rank; return a->repeats;
    case CLG_F_RESIZE_SIZES: return a->resize_sizes;
    default: return NULL;
    }
}

static int64_t *int_slot(clg_attrs *a, clg_attr_field f)
{
    switch (f) {
    case CLG_F_TRANS_A: return &a->trans_a;
    case CLG_F_TRANS_B: return &a->trans_b;
    case CLG_F_APPROXIMATE: return &a->approximate;
    case CLG_F_AXIS: return &a->axis;
    case CLG_F_GROUP: return &a->group;
    case CLG_F_CEIL_MODE: return &a->ceil_mode;
    case CLG_F_COUNT_INCLUDE_PAD: return &a->count_include_pad;
    case CLG_F_BLOCKSIZE: return &a->blocksize;
    case CLG_F_KEEPDIMS: return &a->keepdims;
    case CLG_F_UPPER: return &a->upper;
    case CLG_F_TRILU_K: return &a->trilu_k;
    case CLG_F_SELECT_LAST_INDEX: return &a->select_last_index;
    case CLG_F_EXCLUDE_OUTSIDE: return &a->exclude_outside;
    default: return NULL;
    }
}

static float *float_slot(clg_attrs *a, clg_attr_field f)
{
    switch (f) {
    case CLG_F_ALPHA: return &a->alpha;
    case CLG_F_BETA: return &a->beta;
    case CLG_F_EPSILON: return &a->epsilon;
    case CLG_F_MIN: return &a->min;
    case CLG_F_MAX: return &a->max;
    case CLG_F_PAD_VALUE: return &a->pad_value;
    case CLG_F_SCALE: return &a->scale;
    case CLG_F_HEIGHT_SCALE: return &a->height_scale;
    case CLG_F_WIDTH_SCALE: return &a->width_scale;
    case CLG_F_START: return &a->range_start;
    case CLG_F_DELTA: return &a->range_delta;
    case CLG_F_CUBIC_COEFF_A: return &a->cubic_coeff_a;
    default: return NULL;
    }
}

/* Elementwise's expr: parsed here so a syntax error names the node at once,
 * and stored in canonical form. Which inputs it may use is checked with the
 * node's inputs, by shape inference. */
static clg_status set_expr(clg_graph *g, int line, const char *node, clg_op op, clg_attrs *a,
                           const char *field, const char *text)
{
    clg_expr e;
    char err[256], canonical[CLG_MAX_STRING_ATTR];
    /* The parser's messages start "expr: "; name the attribute instead. */
    if (clg_expr_parse(&e, text, err, sizeof err))
        return clg_fail_node(g, CLG_ERR_PARSE, line, node, op, "%s: %s", field,
                             strncmp(err, "expr: ", 6) == 0 ? err + 6 : err);
    if (clg_expr_print(&e, canonical, sizeof canonical) >= sizeof canonical)
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                             "attribute %s is longer than %d bytes in canonical form", field,
                             CLG_MAX_STRING_ATTR - 1);
    memcpy(a->expr, canonical, sizeof canonical);
    return CLG_OK;
}

clg_status clg_attr_set(clg_graph *g, int line, const char *node, clg_op op, clg_attrs *a,
                        clg_attr_field f, const clg_attr *v)
{
    const clg_field_info *fi = &fields[f];
    if (fi->kind == CLG_ATTR_STRING) {
        if (v->kind != CLG_ATTR_STRING || !v->s)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute %s must be a string", fi->name);
        if (f == CLG_F_BLOCK_MODE) {
            for (int m = 0; m < 2; m++)
                if (strcmp(v->s, mode_names[m]) == 0) {
                    a->mode_crd = m;
                    return CLG_OK;
                }
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute mode must be \"DCR\" or \"CRD\", got \"%.40s\"", v->s);
        }
        int n_names;
        const char *const *names = resize_names(f, &n_names);
        if (names) {
            for (int m = 0; m < n_names; m++)
                if (strcmp(v->s, names[m]) == 0) {
                    resize_set(a, f, m);
                    return CLG_OK;
                }
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute %s: \"%.40s\" is not one of clgraph's (docs/ir.md, Resize)",
                                 fi->name, v->s);
        }
        if (strlen(v->s) >= CLG_MAX_STRING_ATTR)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute %s is longer than %d bytes", fi->name,
                                 CLG_MAX_STRING_ATTR - 1);
        if (f == CLG_F_TO) {
            if (!clg_dtype_from_name(v->s, strlen(v->s), &a->to))
                return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                     "attribute to: unknown type '%s' (f32, i64, i32, bool or f16)", v->s);
            return CLG_OK;
        }
        if (f == CLG_F_PAD_MODE) {
            for (int m = 0; m < CLG_PAD_MODE_COUNT; m++)
                if (strcmp(v->s, pad_modes[m]) == 0) {
                    a->pad_mode = (clg_pad_mode)m;
                    return CLG_OK;
                }
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute mode must be \"constant\", \"reflect\" or \"edge\", got \"%.40s\"",
                                 v->s);
        }
        return set_expr(g, line, node, op, a, fi->name, v->s); /* expr and epilogue share a->expr */
    }
    if (fi->kind == CLG_ATTR_FLOAT) {
        /* An integer literal is a fine float (alpha=1). */
        if (v->kind == CLG_ATTR_INT) {
            *float_slot(a, f) = (float)v->ints[0];
            return CLG_OK;
        }
        if (v->kind != CLG_ATTR_FLOAT)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute %s must be a number", fi->name);
        *float_slot(a, f) = v->f;
        return CLG_OK;
    }
    if (fi->kind == CLG_ATTR_INT) {
        if (v->kind != CLG_ATTR_INT)
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                                 "attribute %s must be an integer", fi->name);
        *int_slot(a, f) = v->ints[0];
        return CLG_OK;
    }
    if (v->kind != CLG_ATTR_INTS)
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                             "attribute %s must be a list of integers", fi->name);
    if (fi->fixed_count ? v->count != fi->max_count : (v->count < 0 || v->count > fi->max_count))
        return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, node, op,
                             "attribute %s needs %s%d values, got %d", fi->name,
                             fi->fixed_count ? "" : "at most ", fi->max_count, v->count);
    int *len;
    int64_t *dst = ints_slot(a, f, &len);
    for (int i = 0; i < v->count; i++) dst[i] = v->ints[i];
    if (len) *len = v->count;
    return CLG_OK;
}

void clg_attr_get(const clg_attrs *a, clg_attr_field f, clg_attr *out)
{
    clg_attrs *m = (clg_attrs *)a; /* the slot helpers are shared with the setter */
    memset(out, 0, sizeof *out);
    out->kind = fields[f].kind;
    if (f == CLG_F_PAD_MODE) {
        out->s = (unsigned)m->pad_mode < CLG_PAD_MODE_COUNT ? pad_modes[m->pad_mode] : "?";
    } else if (f == CLG_F_BLOCK_MODE) {
        out->s = mode_names[m->mode_crd != 0];
    } else if (f == CLG_F_RESIZE_MODE || f == CLG_F_COORD_MODE || f == CLG_F_NEAREST_MODE) {
        int n_names, v = resize_get(m, f);
        const char *const *names = resize_names(f, &n_names);
        out->s = v >= 0 && v < n_names ? names[v] : "?";
    } else if (out->kind == CLG_ATTR_STRING) {
        out->s = f == CLG_F_TO ? clg_dtype_name(m->to) : m->expr;
    } else if (out->kind == CLG_ATTR_FLOAT) {
        out->f = *float_slot(m, f);
    } else if (out->kind == CLG_ATTR_INT) {
        out->count = 1;
        out->ints[0] = *int_slot(m, f);
    } else {
        int *len;
        const int64_t *src = ints_slot(m, f, &len);
        out->count = len ? *len : fields[f].max_count;
        for (int i = 0; i < out->count; i++) out->ints[i] = src[i];
    }
}

bool clg_attr_equal(const clg_attr *x, const clg_attr *y)
{
    if (x->kind != y->kind) return false;
    if (x->kind == CLG_ATTR_FLOAT) return memcmp(&x->f, &y->f, sizeof x->f) == 0;
    if (x->kind == CLG_ATTR_STRING) return x->s && y->s && strcmp(x->s, y->s) == 0;
    if (x->count != y->count) return false;
    for (int i = 0; i < x->count; i++)
        if (x->ints[i] != y->ints[i]) return false;
    return true;
}
