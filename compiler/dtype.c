/* Element types: names, the op table's type rules, and the conversions
 * between a caller's typed elements and the exact floats every value is
 * held in (integers are exact in fp32 while |v| <= 2^24). */
#include <math.h>
#include <string.h>

#include "ir.h"

static const char *const names[] = {
    [CLG_DTYPE_F32] = "f32",
    [CLG_DTYPE_I64] = "i64",
    [CLG_DTYPE_I32] = "i32",
    [CLG_DTYPE_BOOL] = "bool",
    [CLG_DTYPE_F16] = "f16",
};

#define N_DTYPES ((int)(sizeof names / sizeof names[0]))

bool clg_dtype_valid(clg_dtype t) { return (int)t >= 0 && (int)t < N_DTYPES; }

bool clg_dtype_is_int(clg_dtype t) { return t == CLG_DTYPE_I64 || t == CLG_DTYPE_I32; }

bool clg_dtype_is_float(clg_dtype t) { return t == CLG_DTYPE_F32 || t == CLG_DTYPE_F16; }

const char *clg_dtype_name(clg_dtype t) { return clg_dtype_valid(t) ? names[t] : NULL; }

size_t clg_dtype_size(clg_dtype t)
{
    switch (t) {
    case CLG_DTYPE_F32: return sizeof(float);
    case CLG_DTYPE_I64: return sizeof(int64_t);
    case CLG_DTYPE_I32: return sizeof(int32_t);
    case CLG_DTYPE_BOOL: return sizeof(uint8_t);
    case CLG_DTYPE_F16: return sizeof(uint16_t);
    }
    return 0;
}

bool clg_dtype_from_name(const char *name, size_t len, clg_dtype *out)
{
    for (int i = 0; i < N_DTYPES; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            *out = (clg_dtype)i;
            return true;
        }
    return false;
}

/* ---- type rules */

static clg_status type_error(clg_graph *g, int line, const char *name, clg_op op, const char *input,
                             clg_dtype got, const char *want)
{
    return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op, "input '%s' is %s; %s needs %s",
                         input, clg_dtype_name(got), clg_op_name(op), want);
}

clg_status clg_infer_dtype(clg_graph *g, int line, const char *name, clg_op op, const clg_attrs *attrs,
                           const int *inputs, int n_inputs, clg_dtype *out)
{
    const clg_op_info *info = clg_op_get(op);
    const clg_node *in = g->nodes;
    *out = CLG_DTYPE_F32;
    switch (info->types) {
    case CLG_TYPES_FLOAT: {
        /* An epilogue's inputs are read as floats, like an Elementwise's.
         * f16 values are floats (held as such), so they qualify; what an
         * op computes from them is f32. */
        int epi = clg_epilogue_inputs(op, attrs);
        int own = epi > 0 ? n_inputs - epi : n_inputs;
        for (int k = 0; k < own; k++)
            if (!clg_dtype_is_float(in[inputs[k]].dtype))
                return type_error(g, line, name, op, in[inputs[k]].name, in[inputs[k]].dtype, "f32 or f16");
        return CLG_OK;
    }
    case CLG_TYPES_ANY: return CLG_OK;
    case CLG_TYPES_SAME: {
        /* Moving values keeps their type; f16 and f32 values together are
         * f32 (every f16 value is an f32 one). */
        bool mixed_float = false;
        for (int k = 1; k < n_inputs; k++) {
            clg_dtype a = in[inputs[k]].dtype, b = in[inputs[0]].dtype;
            if (a != b && clg_dtype_is_float(a) && clg_dtype_is_float(b)) mixed_float = true;
            else if (a != b)
                return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                     "input '%s' is %s but input '%s' is %s; %s needs one type",
                                     in[inputs[k]].name, clg_dtype_name(in[inputs[k]].dtype),
                                     in[inputs[0]].name, clg_dtype_name(in[inputs[0]].dtype),
                                     clg_op_name(op));
        }
        if (n_inputs > 0) *out = mixed_float ? CLG_DTYPE_F32 : in[inputs[0]].dtype;
        /* Pad's fill value must be one of its data's values. */
        if (op == CLG_OP_PAD && attrs->pad_mode == CLG_PAD_CONSTANT && !clg_values_fit_dtype(&attrs->pad_value, 1, *out, &(size_t){0}))
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op, "value %g does not fit %s (%s)",
                                 (double)attrs->pad_value, clg_dtype_name(*out),
                                 clg_dtype_values_text(*out));
        return CLG_OK;
    }
    case CLG_TYPES_GATHER:
        if (n_inputs > 1 && !clg_dtype_is_int(in[inputs[1]].dtype))
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op,
                                 "indices '%s' are %s; %s needs i64 or i32 indices",
                                 in[inputs[1]].name, clg_dtype_name(in[inputs[1]].dtype), clg_op_name(op));
        if (n_inputs > 0) *out = in[inputs[0]].dtype;
        return CLG_OK;
    case CLG_TYPES_INDEX: *out = CLG_DTYPE_I64; return CLG_OK;
    case CLG_TYPES_CAST:
        if (!clg_dtype_valid(attrs->to))
            return clg_fail_node(g, CLG_ERR_INVALID_GRAPH, line, name, op, "unknown type %d", (int)attrs->to);
        *out = attrs->to;
        return CLG_OK;
    }
    return CLG_OK;
}

/* ---- half precision
 * IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction
 * bits. Every half is exactly a float, so half values are held as floats
 * and only the graph's edges and Cast(to=f16) convert. */

float clg_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, frac = h & 0x3ffu;
    float v;
    if (exp == 0x1f) {
        /* inf, or NaN keeping its payload in the float's top fraction bits */
        uint32_t bits = sign | 0x7f800000u | frac << 13;
        memcpy(&v, &bits, sizeof v);
        return v;
    }
    /* normal: (1024 + frac) * 2^(exp - 25); subnormal (exp 0): frac * 2^-24 */
    v = exp ? ldexpf((float)(1024u + frac), (int)exp - 25) : ldexpf((float)frac, -24);
    return sign ? -v : v;
}

/* Round to nearest, ties to even, in the float's bits: adding half a unit
 * of the 13 dropped bits (less one when the kept lsb is even) carries into
 * the exponent exactly when the value rounds up to the next binade. */
uint16_t clg_float_to_half(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN stays NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds past 65504: inf */
    if (a < 0x38800000u) {
        /* below 2^-14: a multiple of 2^-24 (subnormal or zero); rintf
         * rounds ties to even in the default rounding mode */
        float m;
        memcpy(&m, &a, sizeof m);
        return (uint16_t)(sign | (uint16_t)rintf(m * 16777216.0f));
    }
    a += 0xfffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | (((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu));
}

float clg_round_half(float f) { return clg_half_to_float(clg_float_to_half(f)); }

const char *clg_dtype_values_text(clg_dtype t)
{
    switch (t) {
    case CLG_DTYPE_BOOL: return "0 or 1";
    case CLG_DTYPE_F16: return "values a half-precision float holds exactly";
    default: return "integers of at most 2^24 in magnitude";
    }
}

/* ---- conversions */

bool clg_values_to_float(const void *src, clg_dtype t, size_t count, float *dst, size_t *bad,
                         int64_t *bad_value)
{
    switch (t) {
    case CLG_DTYPE_F32: memcpy(dst, src, count * sizeof(float)); return true;
    case CLG_DTYPE_F16:
        for (size_t i = 0; i < count; i++) dst[i] = clg_half_to_float(((const uint16_t *)src)[i]);
        return true;
    case CLG_DTYPE_BOOL:
        for (size_t i = 0; i < count; i++) dst[i] = ((const uint8_t *)src)[i] ? 1.0f : 0.0f;
        return true;
    case CLG_DTYPE_I64:
        for (size_t i = 0; i < count; i++) {
            int64_t v = ((const int64_t *)src)[i];
            if (v > CLG_MAX_EXACT_INT || v < -CLG_MAX_EXACT_INT) {
                *bad = i;
                *bad_value = v;
                return false;
            }
            dst[i] = (float)v;
        }
        return true;
    case CLG_DTYPE_I32:
        for (size_t i = 0; i < count; i++) {
            int32_t v = ((const int32_t *)src)[i];
            if (v > CLG_MAX_EXACT_INT || v < -CLG_MAX_EXACT_INT) {
                *bad = i;
                *bad_value = v;
                return false;
            }
            dst[i] = (float)v;
        }
        return true;
    }
    *bad = 0;
    *bad_value = 0;
    return false;
}

/* Truncation toward zero, saturating at [lo, hi], NaN as 0: never the
 * undefined behaviour of converting an out-of-range float in C. */
static int64_t to_int(float v, double lo, double hi)
{
    if (isnan(v)) return 0;
    double d = trunc((double)v);
    if (d <= lo) return (int64_t)lo;
    if (d >= hi) return (int64_t)hi;
    return (int64_t)d;
}

void clg_values_from_float(const float *src, clg_dtype t, size_t count, void *dst)
{
    switch (t) {
    case CLG_DTYPE_F32: memcpy(dst, src, count * sizeof(float)); return;
    case CLG_DTYPE_F16:
        for (size_t i = 0; i < count; i++) ((uint16_t *)dst)[i] = clg_float_to_half(src[i]);
        return;
    case CLG_DTYPE_BOOL:
        for (size_t i = 0; i < count; i++) ((uint8_t *)dst)[i] = src[i] != 0.0f;
        return;
    case CLG_DTYPE_I64:
        /* 2^63 is not an int64; the largest double below it is. */
        for (size_t i = 0; i < count; i++)
            ((int64_t *)dst)[i] = to_int(src[i], -9223372036854775808.0, 9223372036854774784.0);
        return;
    case CLG_DTYPE_I32:
        for (size_t i = 0; i < count; i++)
            ((int32_t *)dst)[i] = (int32_t)to_int(src[i], -2147483648.0, 2147483647.0);
        return;
    }
}

bool clg_values_fit_dtype(const float *v, size_t count, clg_dtype t, size_t *bad)
{
    if (t == CLG_DTYPE_F32) return true;
    for (size_t i = 0; i < count; i++) {
        bool ok = t == CLG_DTYPE_F16    ? (isnan(v[i]) || clg_round_half(v[i]) == v[i])
                : t == CLG_DTYPE_BOOL ? (v[i] == 0.0f || v[i] == 1.0f)
                                      : (v[i] == truncf(v[i]) && fabsf(v[i]) <= (float)CLG_MAX_EXACT_INT);
        if (!ok) {
            *bad = i;
            return false;
        }
    }
    return true;
}
