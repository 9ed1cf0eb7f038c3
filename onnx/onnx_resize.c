/* ONNX Resize (opsets 10 to 17, and 18's axes and antialias attributes where
 * they change nothing clgraph computes differently) and Upsample (opsets 7
 * to 9) to clgraph's Resize, which resizes the last two dims with nearest
 * or (bi)linear interpolation.
 *
 * The scales or sizes must be constants (initializers, Constant nodes or
 * values folded on the host): clgraph's Resize takes the output sizes as an
 * attribute. Only the last two dims may change. Resize-10 and Upsample have
 * no coordinate_transformation_mode or nearest_mode: they are ONNX
 * Runtime's "asymmetric" and floor, and downsampling with nearest is
 * refused there (runtimes round it differently). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"

/* A STRING attribute into buf (NUL-terminated, truncated, unprintable
 * bytes as '?'); def when absent. */
static clg_status string_attr(ox_ctx *ox, const Onnx__NodeProto *n, const char *name, const char *def, char *buf,
                              size_t size)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    snprintf(buf, size, "%s", def);
    if (!a) return CLG_OK;
    if ((a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) || (!a->has_type && !a->has_s))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute %s must be a string", name);
    size_t len = a->s.len < size - 1 ? a->s.len : size - 1;
    if (len) memcpy(buf, a->s.data, len);
    buf[len] = '\0';
    for (size_t k = 0; k < len; k++)
        if (buf[k] < 0x20 || buf[k] > 0x7e) buf[k] = '?';
    return CLG_OK;
}

/* The index of value in names[0..count), or -1. */
static int find_name(const char *const *names, int count, const char *value)
{
    for (int k = 0; k < count; k++)
        if (strcmp(names[k], value) == 0) return k;
    return -1;
}

/* mode, coordinate_transformation_mode, nearest_mode and the attributes that
 * only matter for what clgraph does not compute. */
static clg_status read_modes(ox_ctx *ox, const Onnx__NodeProto *n, bool legacy, clg_attrs *a)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                         "tf_half_pixel_for_nn"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    char text[48];
    clg_status s;
    if ((s = string_attr(ox, n, "mode", "nearest", text, sizeof text))) return s;
    int m = find_name(modes, 3, text);
    if (m < 0 || (legacy && m == CLG_RESIZE_CUBIC))
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute mode '%s' is not supported (only nearest and linear%s)",
                       text, legacy ? "" : ", and cubic from Resize-11");
    a->resize_mode = (clg_resize_mode)m;
    if (legacy) {
        a->coord_mode = CLG_COORD_ASYMMETRIC;
        a->nearest_mode = CLG_NEAREST_FLOOR;
        return CLG_OK;
    }
    if ((s = string_attr(ox, n, "coordinate_transformation_mode", "half_pixel", text, sizeof text))) return s;
    int c = find_name(coords, 5, text);
    if (c < 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "attribute coordinate_transformation_mode '%s' is not supported (only half_pixel, "
                       "pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nn)",
                       text);
    a->coord_mode = (clg_resize_coord)c;
    if ((s = string_attr(ox, n, "nearest_mode", "round_prefer_floor", text, sizeof text))) return s;
    int k = find_name(nearests, 4, text);
    if (k < 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute nearest_mode '%s' is not supported", text);
    a->nearest_mode = (clg_resize_nearest)k;
    if (a->resize_mode == CLG_RESIZE_CUBIC) {
        if ((s = ox_attr_float(ox, n, "cubic_coeff_a", -0.75f, &a->cubic_coeff_a))) return s;
        if ((s = ox_attr_int(ox, n, "exclude_outside", 0, &a->exclude_outside))) return s;
        if (!isfinite(a->cubic_coeff_a))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute cubic_coeff_a is not finite");
        a->exclude_outside = a->exclude_outside != 0;
    }
    if ((s = string_attr(ox, n, "keep_aspect_ratio_policy", "stretch", text, sizeof text))) return s;
    if (strcmp(text, "stretch") != 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "attribute keep_aspect_ratio_policy '%s' is not supported (only stretch)", text);
    return CLG_OK;
}

/* Resize-18's axes: which dims the scales or sizes are for (all when absent). */
static clg_status read_axes(ox_ctx *ox, const Onnx__NodeProto *n, int rank, int *axes, int *n_axes)
{
    const Onnx__AttributeProto *at = ox_attr(n, "axes");
    *n_axes = rank;
    for (int k = 0; k < rank; k++) axes[k] = k;
    if (!at) return CLG_OK;
    if (at->n_floats || (at->has_type && at->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS))
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axes must be a list of integers");
    if (at->n_ints < 1 || at->n_ints > (size_t)rank)
        return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axes has %zu values; the input has rank %d",
                       at->n_ints, rank);
    bool seen[CLG_MAX_RANK] = {false};
    for (size_t k = 0; k < at->n_ints; k++) {
        int64_t v = at->ints[k] < 0 ? at->ints[k] + rank : at->ints[k];
        if (v < 0 || v >= rank || seen[v])
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute axes: %lld is out of range or repeated",
                           (long long)at->ints[k]);
        seen[v] = true;
        axes[k] = (int)v;
    }
    *n_axes = (int)at->n_ints;
    return CLG_OK;
}

/* A constant input's use: NULL (absent or an empty tensor, which Resize-11
 * uses for "not given"), or the host value. */
static clg_status constant_input(ox_ctx *ox, ox_value *v, const char *what, const ox_value **out)
{
    *out = NULL;
    if (!v) return CLG_OK;
    if (v->kind != OX_HOST)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "%s '%s' is a computed tensor; only constant %s (an initializer or Constant) are supported",
                       what, v->name, what);
    if (v->host.count > 0) *out = v;
    return CLG_OK;
}

clg_status ox_convert_resize(ox_ctx *ox, const Onnx__NodeProto *n, ox_value **in, int n_in, ox_value **out,
                             int n_out)
{
    (void)n_out;
    bool upsample = strcmp(n->op_type, "Upsample") == 0;
    bool legacy = upsample || ox->opset < 11; /* Upsample and Resize-10 */
    clg_status s;
    if ((s = ox_require_float(ox, in, 1))) return s;
    int x;
    if ((s = ox_tensor_node(ox, in[0], &x))) return s;
    const clg_shape xs = ox->g->nodes[x].shape;
    int r = xs.rank;
    clg_attrs a;
    clg_attrs_default(CLG_OP_RESIZE, &a);
    if ((s = read_modes(ox, n, legacy, &a))) return s;
    int64_t antialias = 0;
    if ((s = ox_attr_int(ox, n, "antialias", 0, &antialias))) return s;
    int axes[CLG_MAX_RANK], n_axes;
    if ((s = read_axes(ox, n, r, axes, &n_axes))) return s;

    /* The scales (floats) or the sizes (integers), one per axis. */
    double scales[CLG_MAX_RANK];
    int64_t sizes[CLG_MAX_RANK];
    bool have_scales = false, have_sizes = false;
    const ox_value *sv = NULL, *zv = NULL;
    if (upsample && ox->opset < 9) {
        const Onnx__AttributeProto *at = ox_attr(n, "scales");
        if (!at || !at->n_floats)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute scales (floats) is required before opset 9");
        if (at->n_floats != (size_t)n_axes)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute scales has %zu values; the input has rank %d",
                           at->n_floats, r);
        for (int k = 0; k < n_axes; k++) scales[k] = at->floats[k];
        have_scales = true;
    } else {
        if (ox_attr(n, "scales"))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "attribute scales is an input from opset 9 on");
        int scales_at = legacy ? 1 : 2;
        if ((s = constant_input(ox, n_in > scales_at ? in[scales_at] : NULL, "scales", &sv))) return s;
        if (!legacy && (s = constant_input(ox, n_in > 3 ? in[3] : NULL, "sizes", &zv))) return s;
        if (!sv == !zv)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "exactly one of scales and sizes must be given (%s)",
                           sv ? "both are" : "neither is");
        const ox_value *v = sv ? sv : zv;
        if (v->host.count != (size_t)n_axes)
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "%s '%s' has %zu values; %d are needed", sv ? "scales" : "sizes",
                           v->name, v->host.count, n_axes);
        if (sv && !ox_dtype_is_float(sv->host.dtype))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "scales '%s' must be FLOAT, not %s", sv->name,
                           ox_dtype_name(sv->host.dtype));
        if (zv && !ox_dtype_is_int(zv->host.dtype))
            return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "sizes '%s' must be INT64, not %s", zv->name,
                           ox_dtype_name(zv->host.dtype));
        for (int k = 0; k < n_axes; k++) {
            if (sv) scales[k] = sv->host.f->data[k];
            else sizes[k] = zv->host.i[k];
        }
        have_scales = sv != NULL;
        have_sizes = zv != NULL;
    }

    /* Per dim of the input: its output size, and the scale its coordinate
     * transformation divides by (0: output / input). */
    int64_t osize[CLG_MAX_RANK];
    float oscale[CLG_MAX_RANK];
    for (int d = 0; d < r; d++) osize[d] = xs.dims[d], oscale[d] = 0.0f;
    for (int k = 0; k < n_axes; k++) {
        int d = axes[k];
        char dim[48];
        clg_graph_dim_str(ox->g, xs.dims[d], dim, sizeof dim);
        if (have_scales) {
            if (!(scales[k] > 0.0) || isinf(scales[k]))
                return ox_fail(ox, CLG_ERR_INVALID_GRAPH, "scales '%s'[%d] is %g; scales must be positive",
                               sv ? sv->name : "attribute", k, scales[k]);
            if (scales[k] == 1.0) continue;
            if (clg_dim_is_symbolic(xs.dims[d]))
                return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                               "input '%s' dimension %d is %s; scaling a symbolic dimension is not supported "
                               "(give sizes)", in[0]->name, d, dim);
            /* ONNX: floor(input * scale), as the reference computes it */
            double o = floor((double)xs.dims[d] * scales[k]);
            if (o < 1.0 || o > (double)INT32_MAX)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "scales '%s'[%d] = %g makes dimension %d (%s) %.0f",
                               sv ? sv->name : "attribute", k, scales[k], d, dim, o);
            osize[d] = (int64_t)o;
            oscale[d] = (float)scales[k];
        } else if (have_sizes) {
            if (zv->host.sym && zv->host.sym[k]) {
                if (sizes[k] == xs.dims[d]) continue; /* Shape(x)[d] passed through */
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "sizes '%s'[%d] is a symbolic size; only numbers are supported",
                               zv->name, k);
            }
            if (sizes[k] < 1 || sizes[k] > INT32_MAX)
                return ox_fail(ox, CLG_ERR_UNSUPPORTED, "sizes '%s'[%d] is %lld; 1 to 2^31 - 1 are supported",
                               zv->name, k, (long long)sizes[k]);
            if (sizes[k] == xs.dims[d]) continue;
            if (clg_dim_is_symbolic(xs.dims[d]))
                return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                               "input '%s' dimension %d is %s; resizing a symbolic dimension to a number is not "
                               "supported",
                               in[0]->name, d, dim);
            osize[d] = sizes[k];
        }
        if (d < r - 2)
            return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                           "resizes dimension %d (%s); only the last two dimensions of the input may change", d, dim);
    }
    if (r < 2) return ox_fail(ox, CLG_ERR_UNSUPPORTED, "the input '%s' has rank %d; rank 2 or more is needed", in[0]->name, r);
    bool down = false;
    for (int d = r - 2; d < r; d++) down |= osize[d] < xs.dims[d];
    if (legacy && a.resize_mode == CLG_RESIZE_NEAREST && down)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "nearest downsampling in %s is not supported (its rounding is not defined before Resize-11)",
                       upsample ? "Upsample" : "Resize-10");
    if (antialias && a.resize_mode != CLG_RESIZE_NEAREST && down)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "attribute antialias=1 (an antialiasing filter when downscaling) is "
                                                "not supported");
    a.resize_sizes[0] = osize[r - 2];
    a.resize_sizes[1] = osize[r - 1];
    a.height_scale = oscale[r - 2];
    a.width_scale = oscale[r - 1];
    if ((s = ox_append(ox, CLG_OP_RESIZE, out[0], NULL, &x, 1, &a, &out[0]->node))) return s;
    out[0]->kind = OX_TENSOR;
    return CLG_OK;
}
