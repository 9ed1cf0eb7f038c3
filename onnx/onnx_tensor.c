/* TensorProto decoding: initializers, Constant values and ONNX test data.
 * Sizes are checked exactly (raw_data must hold count * element size bytes,
 * a typed field exactly count values) and raw_data is read as little-endian
 * whatever the host, as the ONNX spec requires. */
#include <string.h>

#include "onnx_internal.h"

/* Tensors past 2^31 elements are beyond clgraph (graph.c's limit). */
#define MAX_COUNT ((int64_t)1 << 31)

bool ox_dtype_is_float(int32_t dtype) { return dtype == OX_FLOAT || dtype == OX_DOUBLE || dtype == OX_FLOAT16; }

bool ox_dtype_is_int(int32_t dtype)
{
    switch (dtype) {
    case OX_INT64: case OX_INT32: case OX_INT16: case OX_INT8:
    case OX_UINT16: case OX_UINT8: case OX_BOOL:
        return true;
    default:
        return false;
    }
}

const char *ox_dtype_name(int32_t dtype)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
        "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    if (dtype >= 0 && dtype < (int32_t)(sizeof names / sizeof names[0])) return names[dtype];
    return "(unknown data type)";
}

static size_t dtype_size(int32_t dtype)
{
    switch (dtype) {
    case OX_FLOAT: case OX_INT32: return 4;
    case OX_DOUBLE: case OX_INT64: return 8;
    case OX_INT16: case OX_UINT16: case OX_FLOAT16: return 2;
    case OX_INT8: case OX_UINT8: case OX_BOOL: return 1;
    default: return 0;
    }
}

int64_t ox_dims_count(int rank, const int64_t *dims)
{
    int64_t count = 1;
    bool empty = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return -1;
        if (dims[i] == 0) empty = true;
        else if (!empty && (dims[i] > MAX_COUNT || count > MAX_COUNT / dims[i])) return -1;
        else if (!empty) count *= dims[i];
    }
    return empty ? 0 : count;
}

clg_status ox_host_new(ox_ctx *ox, int32_t dtype, int rank, const int64_t *dims, ox_host *out)
{
    memset(out, 0, sizeof *out);
    int64_t count = ox_dims_count(rank, dims);
    if (count < 0 || rank > OX_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "a constant of more than 2^31 elements or %d dims",
                       OX_MAX_RANK);
    out->dtype = dtype;
    out->rank = rank;
    for (int k = 0; k < rank; k++) out->dims[k] = dims[k];
    out->count = (size_t)count;
    if (ox_dtype_is_float(dtype)) {
        if (!(out->f = clg_const_new(ox->g, out->count))) return ox_oom(ox);
        out->f->init.kind = CLG_INIT_LIST;
    } else if (!(out->i = clg_malloc(ox->g, (out->count ? out->count : 1) * sizeof *out->i))) {
        return ox_oom(ox);
    }
    return CLG_OK;
}

void ox_host_free(clg_graph *g, ox_host *h)
{
    clg_const_release(g, h->f);
    clg_free(g, h->i);
    clg_free(g, h->sym);
    memset(h, 0, sizeof *h);
}

static uint64_t load_le(const uint8_t *p, size_t size)
{
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++) v |= (uint64_t)p[k] << (8 * k);
    return v;
}

/* One raw element as int64, sign-extended for the signed types. */
static int64_t raw_int(const uint8_t *p, int32_t dtype)
{
    uint64_t u = load_le(p, dtype_size(dtype));
    switch (dtype) {
    case OX_INT64: return (int64_t)u;
    case OX_INT32: return (int32_t)(uint32_t)u;
    case OX_INT16: return (int16_t)(uint16_t)u;
    case OX_INT8: return (int8_t)(uint8_t)u;
    case OX_BOOL: return u != 0;
    default: return (int64_t)u; /* UINT8, UINT16 */
    }
}

/* The typed field a dtype's values live in when raw_data is not used. */
static size_t typed_count(const Onnx__TensorProto *t, int32_t dtype, const char **field)
{
    switch (dtype) {
    case OX_FLOAT: *field = "float_data"; return t->n_float_data;
    case OX_DOUBLE: *field = "double_data"; return t->n_double_data;
    case OX_INT64: *field = "int64_data"; return t->n_int64_data;
    default: *field = "int32_data"; return t->n_int32_data;
    }
}

clg_status ox_tensor_decode(ox_ctx *ox, const Onnx__TensorProto *t, const char *what, ox_host *out)
{
    memset(out, 0, sizeof *out);
    if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        t->n_external_data)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED,
                       "%s keeps its data in an external file, which is not supported", what);
    if (t->segment)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s is a segment of a tensor, which is not supported", what);
    if (t->n_dims > OX_MAX_RANK)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s has %zu dimensions; at most %d are supported", what,
                       t->n_dims, OX_MAX_RANK);
    for (size_t k = 0; k < t->n_dims; k++)
        if (t->dims[k] < 0)
            return ox_fail(ox, CLG_ERR_FORMAT, "%s: dimension %zu is negative (%lld)", what, k,
                           (long long)t->dims[k]);
    if (ox_dims_count((int)t->n_dims, t->dims) < 0)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s has more than 2^31 elements", what);
    int32_t dtype = t->has_data_type ? t->data_type : 0;
    if (dtype == 0) return ox_fail(ox, CLG_ERR_FORMAT, "%s has no data type", what);
    size_t esize = dtype_size(dtype);
    if (!esize)
        return ox_fail(ox, CLG_ERR_UNSUPPORTED, "%s has data type %s, which is not supported", what,
                       ox_dtype_name(dtype));

    const char *field;
    size_t n_typed = typed_count(t, dtype, &field);
    /* Values in a field that does not belong to the type are malformed. */
    size_t stray = t->n_float_data + t->n_double_data + t->n_int64_data + t->n_int32_data +
                   t->n_uint64_data + t->n_string_data - n_typed;
    if (stray)
        return ox_fail(ox, CLG_ERR_FORMAT, "%s (%s) has values in a field of another type", what,
                       ox_dtype_name(dtype));

    /* Sizes are checked before anything is allocated: the dims alone may
     * ask for gigabytes that the data does not hold. */
    size_t count = (size_t)ox_dims_count((int)t->n_dims, t->dims);
    if (t->has_raw_data) {
        if (n_typed)
            return ox_fail(ox, CLG_ERR_FORMAT, "%s has both raw_data and %s", what, field);
        if (t->raw_data.len / esize != count || t->raw_data.len % esize)
            return ox_fail(ox, CLG_ERR_FORMAT, "%s: raw_data has %zu bytes, expected %zu (%zu values of %s)",
                           what, t->raw_data.len, count * esize, count, ox_dtype_name(dtype));
    } else if (n_typed != count) {
        return ox_fail(ox, CLG_ERR_FORMAT, "%s: %s has %zu values, expected %zu", what, field, n_typed, count);
    }
    clg_status s = ox_host_new(ox, dtype, (int)t->n_dims, t->dims, out);
    if (s) return s;
    if (t->has_raw_data) {
        const uint8_t *p = t->raw_data.data;
        for (size_t k = 0; k < count; k++, p += esize) {
            if (dtype == OX_FLOAT) {
                uint32_t u = (uint32_t)load_le(p, 4);
                memcpy(&out->f->data[k], &u, 4);
            } else if (dtype == OX_DOUBLE) {
                uint64_t u = load_le(p, 8);
                double d;
                memcpy(&d, &u, 8);
                out->f->data[k] = (float)d;
            } else if (dtype == OX_FLOAT16) {
                out->f->data[k] = clg_half_to_float((uint16_t)load_le(p, 2)); /* exact */
            } else {
                out->i[k] = raw_int(p, dtype);
            }
        }
        return CLG_OK;
    }
    for (size_t k = 0; k < count; k++) {
        switch (dtype) {
        case OX_FLOAT: out->f->data[k] = t->float_data[k]; break;
        case OX_DOUBLE: out->f->data[k] = (float)t->double_data[k]; break;
        case OX_INT64: out->i[k] = t->int64_data[k]; break;
        case OX_BOOL: out->i[k] = t->int32_data[k] != 0; break;
        /* The spec stores a half's bits in the low 16 bits of an int32. */
        case OX_FLOAT16: out->f->data[k] = clg_half_to_float((uint16_t)(t->int32_data[k] & 0xffff)); break;
        default: out->i[k] = t->int32_data[k]; break;
        }
    }
    return CLG_OK;
}

clg_status clg_onnx_read_tensor(clg_graph *g, const void *data, size_t len, clg_tensor *out, int *rank0)
{
    if (!g || !out || (!data && len)) return CLG_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    ox_ctx ox = {0};
    ox.g = g;
    ox_pb_alloc alloc;
    ox_pb_alloc_init(&alloc, g);
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(&alloc.pb, len, data);
    if (!t) {
        if (alloc.failed) return ox_oom(&ox);
        return clg_fail(g, CLG_ERR_FORMAT, "not a serialized ONNX TensorProto (malformed or truncated)");
    }
    ox_host h;
    clg_status s = ox_tensor_decode(&ox, t, "the tensor", &h);
    onnx__tensor_proto__free_unpacked(t, &alloc.pb);
    if (s) return s;
    if ((h.dtype != OX_FLOAT && h.dtype != OX_FLOAT16) || h.rank > CLG_MAX_RANK || h.count == 0) {
        s = clg_fail(g, CLG_ERR_UNSUPPORTED, "a tensor of %s with %d dims and %zu elements is not supported",
                     ox_dtype_name(h.dtype), h.rank, h.count);
        ox_host_free(g, &h);
        return s;
    }
    out->dtype = h.dtype == OX_FLOAT16 ? CLG_DTYPE_F16 : CLG_DTYPE_F32;
    if (!(out->data = clg_malloc(g, h.count * clg_dtype_size(out->dtype)))) {
        ox_host_free(g, &h);
        return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory reading a tensor");
    }
    /* FLOAT16 values were widened exactly; narrowing gives their bits back. */
    clg_values_from_float(h.f->data, out->dtype, h.count, out->data);
    out->rank = h.rank ? h.rank : 1;
    out->dims[0] = 1;
    for (int k = 0; k < h.rank; k++) out->dims[k] = h.dims[k];
    if (rank0) *rank0 = h.rank == 0;
    ox_host_free(g, &h);
    return CLG_OK;
}
