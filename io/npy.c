/* .npy files: NumPy's format versions 1.0, 2.0 and 3.0, restricted to what a
 * clg_tensor can hold (little-endian float32, int64, int32 or bool, C
 * order, rank 1..8).
 *
 * A file is the magic "\x93NUMPY", a major and minor version byte, the header
 * length (u16 little-endian in 1.0, u32 in 2.0 and 3.0), the header — a
 * Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n' — and then the raw data. The writer
 * produces exactly the bytes numpy.save does for an array of those types. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* numpy refuses headers over 10000 bytes by default; allow more, but not an
 * allocation the size of a corrupt u32. */
#define NPY_MAX_HEADER (1u << 20)
/* numpy.save leaves room to grow the first dimension in place. */
#define NPY_GROWTH_DIGITS 21

/* The parsed header. */
typedef struct npy_header {
    char descr[32];
    bool fortran_order;
    int rank;
    int64_t dims[CLG_MAX_RANK];
} npy_header;

static bool host_is_little_endian(void)
{
    const uint32_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Reverses the bytes of each of count elements of size bytes. */
static void swap_elems(void *data, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t *b = (uint8_t *)data + i * size;
        for (size_t k = 0; k < size / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[size - 1 - k];
            b[size - 1 - k] = t;
        }
    }
}

/* The descr numpy writes for each dtype (little-endian; bool has no order). */
static const char *const descrs[] = {
    [CLG_DTYPE_F32] = "<f4",
    [CLG_DTYPE_I64] = "<i8",
    [CLG_DTYPE_I32] = "<i4",
    [CLG_DTYPE_BOOL] = "|b1",
    [CLG_DTYPE_F16] = "<f2",
};

static bool dtype_of_descr(const char *descr, clg_dtype *out)
{
    for (int i = 0; i < (int)(sizeof descrs / sizeof descrs[0]); i++)
        if (strcmp(descr, descrs[i]) == 0) {
            *out = (clg_dtype)i;
            return true;
        }
    return false;
}

/* Writes the shape as Python would: "(5,)", "(2, 3)". */
static const char *tuple_str(int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (n < size) snprintf(buf + n, size - n, rank == 1 ? ",)" : ")");
    return buf;
}

/* ------------------------------------------------------- header parsing */

typedef struct cursor {
    clg_graph *g;
    const char *path;
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static clg_status bad_header(cursor *c, const char *what)
{
    return clg_fail(c->g, CLG_ERR_FORMAT, "%s: malformed .npy header: %s", c->path, what);
}

/* A quoted Python string without escapes, copied into buf. */
static clg_status parse_string(cursor *c, char *buf, size_t size, const char *what)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return bad_header(c, what);
    char quote = *c->p++;
    const char *s = c->p;
    while (c->p < c->end && *c->p != quote && *c->p != '\\' && *c->p != '\n') c->p++;
    if (c->p >= c->end || *c->p != quote) return bad_header(c, "unterminated or escaped string");
    size_t len = (size_t)(c->p - s);
    c->p++;
    if (len >= size) return bad_header(c, "string too long");
    memcpy(buf, s, len);
    buf[len] = '\0';
    return CLG_OK;
}

static bool accept_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
    c->p += n;
    return true;
}

/* A tuple of non-negative ints: (), (5,), (2, 3), (2, 3,). Python 2 wrote
 * longs with an L suffix, which numpy still reads. */
static clg_status parse_shape(cursor *c, npy_header *h)
{
    if (!accept(c, '(')) return bad_header(c, "'shape' is not a tuple");
    h->rank = 0;
    bool comma = false; /* after the last dimension */
    for (;;) {
        if (accept(c, ')')) break;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return bad_header(c, "'shape' must hold non-negative integers");
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            int digit = *c->p++ - '0';
            if (v > (INT64_MAX - digit) / 10)
                return clg_fail(c->g, CLG_ERR_FORMAT, "%s: a dimension of the shape is too large", c->path);
            v = v * 10 + digit;
        }
        if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++;
        if (h->rank == CLG_MAX_RANK)
            return clg_fail(c->g, CLG_ERR_FORMAT, "%s: the array has more than %d dimensions; clgraph tensors have rank 1..%d",
                            c->path, CLG_MAX_RANK, CLG_MAX_RANK);
        h->dims[h->rank++] = v;
        comma = false;
        if (accept(c, ')')) break;
        if (!accept(c, ',')) return bad_header(c, "expected ',' or ')' in 'shape'");
        comma = true;
    }
    /* In Python "(5)" is the int 5; a 1-tuple is "(5,)". */
    if (h->rank == 1 && !comma) return bad_header(c, "'shape' (N) is an int, not a tuple (N,)");
    return CLG_OK;
}

static clg_status parse_header(cursor *c, npy_header *h)
{
    enum { DESCR = 1, FORTRAN = 2, SHAPE = 4 };
    int seen = 0;
    clg_status s;
    if (!accept(c, '{')) return bad_header(c, "it is not a dict");
    for (;;) {
        if (accept(c, '}')) break;
        char key[32];
        if ((s = parse_string(c, key, sizeof key, "expected a quoted key"))) return s;
        if (!accept(c, ':')) return bad_header(c, "expected ':' after a key");
        int bit;
        if (strcmp(key, "descr") == 0) {
            bit = DESCR;
            skip_ws(c);
            if (c->p < c->end && (*c->p == '[' || *c->p == '{'))
                return clg_fail(c->g, CLG_ERR_FORMAT,
                                "%s: structured dtypes are not supported; clgraph reads only float32 ('<f4')",
                                c->path);
            if ((s = parse_string(c, h->descr, sizeof h->descr, "'descr' is not a string"))) return s;
        } else if (strcmp(key, "fortran_order") == 0) {
            bit = FORTRAN;
            if (accept_word(c, "True")) h->fortran_order = true;
            else if (accept_word(c, "False")) h->fortran_order = false;
            else return bad_header(c, "'fortran_order' is not True or False");
        } else if (strcmp(key, "shape") == 0) {
            bit = SHAPE;
            if ((s = parse_shape(c, h))) return s;
        } else {
            char what[80];
            snprintf(what, sizeof what, "unexpected key '%s'", key);
            return bad_header(c, what);
        }
        if (seen & bit) {
            char what[80];
            snprintf(what, sizeof what, "key '%s' appears twice", key);
            return bad_header(c, what);
        }
        seen |= bit;
        if (accept(c, '}')) break;
        if (!accept(c, ',')) return bad_header(c, "expected ',' or '}' after a value");
    }
    skip_ws(c);
    if (c->p != c->end) return bad_header(c, "text after the closing '}'");
    if (!(seen & DESCR)) return bad_header(c, "no 'descr' key");
    if (!(seen & FORTRAN)) return bad_header(c, "no 'fortran_order' key");
    if (!(seen & SHAPE)) return bad_header(c, "no 'shape' key");
    return CLG_OK;
}

/* "float64" for "<f8", for a friendlier message; "" when unknown. */
static const char *dtype_name(const char *descr, char *buf, size_t size)
{
    const char *kinds[][2] = {{"f", "float"}, {"i", "int"}, {"u", "uint"}, {"c", "complex"}, {"b", "bool"}};
    buf[0] = '\0';
    if (strlen(descr) < 3 || !strchr("<>|=", descr[0])) return buf;
    int bytes = 0;
    for (const char *p = descr + 2; *p; p++) {
        if (*p < '0' || *p > '9' || bytes > 1000) return buf;
        bytes = bytes * 10 + (*p - '0');
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (descr[1] != kinds[k][0][0]) continue;
        if (descr[1] == 'b') snprintf(buf, size, " (bool)");
        else snprintf(buf, size, " (%s%d)", kinds[k][1], bytes * 8);
    }
    return buf;
}

/* Checks the header describes something a clg_tensor holds; sets *bytes
 * and *dtype. */
static clg_status check_header(clg_graph *g, const char *path, const npy_header *h, size_t *bytes,
                               clg_dtype *dtype)
{
    if (!dtype_of_descr(h->descr, dtype)) {
        char kind[32];
        return clg_fail(g, CLG_ERR_FORMAT,
                        "%s: dtype '%s'%s is not supported; clgraph reads little-endian float32 ('<f4'), "
                        "float16 ('<f2'), int64 ('<i8'), int32 ('<i4') and bool ('|b1')",
                        path, h->descr, dtype_name(h->descr, kind, sizeof kind));
    }
    size_t elem = clg_dtype_size(*dtype);
    if (h->fortran_order)
        return clg_fail(g, CLG_ERR_FORMAT,
                        "%s: the array is in Fortran order; clgraph reads only C order (save np.ascontiguousarray(a))",
                        path);
    char buf[160];
    if (h->rank == 0)
        return clg_fail(g, CLG_ERR_FORMAT, "%s: the array is 0-d (shape ()); clgraph tensors have rank 1..%d",
                        path, CLG_MAX_RANK);
    size_t count = 1;
    for (int i = 0; i < h->rank; i++) {
        if (h->dims[i] == 0)
            return clg_fail(g, CLG_ERR_FORMAT, "%s: shape %s has no elements; clgraph tensors need positive dimensions",
                            path, tuple_str(h->rank, h->dims, buf, sizeof buf));
        if ((uint64_t)h->dims[i] > SIZE_MAX / sizeof(int64_t) / count)
            return clg_fail(g, CLG_ERR_FORMAT, "%s: shape %s is too large", path,
                            tuple_str(h->rank, h->dims, buf, sizeof buf));
        count *= (size_t)h->dims[i];
    }
    *bytes = count * elem;
    return CLG_OK;
}

/* Compares the file's shape and dtype with graph input `index`. */
static clg_status check_input(clg_graph *g, const char *path, const npy_header *h, clg_dtype dtype, int index)
{
    const char *name;
    int rank;
    int64_t dims[CLG_MAX_RANK];
    if (clg_graph_input_info(g, index, &name, &rank, dims) != CLG_OK)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "%s: the graph has no input %d (it has %d)", path,
                        index, clg_graph_input_count(g));
    clg_dtype want_type = CLG_DTYPE_F32;
    clg_graph_input_dtype(g, index, &want_type);
    bool ok = rank == h->rank;
    for (int i = 0; ok && i < rank; i++) ok = dims[i] == h->dims[i] || dims[i] < 0; /* a symbolic dim takes any size */
    clg_shape want = {rank, {0}};
    memcpy(want.dims, dims, sizeof want.dims);
    char have_buf[160], want_buf[96];
    if (!ok)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "%s: shape %s does not match input %s: %s%s", path,
                        tuple_str(h->rank, h->dims, have_buf, sizeof have_buf), name, clg_dtype_name(want_type),
                        clg_shape_str(g, &want, want_buf, sizeof want_buf));
    if (dtype != want_type)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "%s: dtype '%s' (%s) does not match input %s: %s%s", path,
                        h->descr, clg_dtype_name(dtype), name, clg_dtype_name(want_type),
                        clg_shape_str(g, &want, want_buf, sizeof want_buf));
    return CLG_OK;
}

/* ---------------------------------------------------------------- reading */

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Reads the magic, version and header of f into *h. */
static clg_status read_header(clg_graph *g, FILE *f, const char *path, npy_header *h)
{
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (ferror(f)) return clg_fail(g, CLG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    if (got < NPY_MAGIC_LEN || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return clg_fail(g, CLG_ERR_FORMAT, "%s: not a .npy file (bad magic: it does not start with \\x93NUMPY)", path);
    if (got < 10) return clg_fail(g, CLG_ERR_FORMAT, "%s: truncated .npy header", path);
    int major = pre[6], minor = pre[7];
    size_t header_len;
    if (major == 1 && minor == 0) {
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (fread(pre + 10, 1, 2, f) != 2) return clg_fail(g, CLG_ERR_FORMAT, "%s: truncated .npy header", path);
        header_len = le32(pre + 8);
    } else {
        return clg_fail(g, CLG_ERR_FORMAT, "%s: unsupported .npy format version %d.%d (clgraph reads 1.0, 2.0 and 3.0)",
                        path, major, minor);
    }
    if (header_len > NPY_MAX_HEADER)
        return clg_fail(g, CLG_ERR_FORMAT, "%s: .npy header of %zu bytes is too long", path, header_len);
    char *text = clg_malloc(g, header_len + 1);
    if (!text) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
    clg_status s = CLG_OK;
    if (fread(text, 1, header_len, f) != header_len) {
        s = ferror(f) ? clg_fail(g, CLG_ERR_IO, "cannot read %s: %s", path, strerror(errno))
                      : clg_fail(g, CLG_ERR_FORMAT, "%s: truncated .npy header", path);
    } else {
        /* Version 3.0 headers are UTF-8, but every byte the parser accepts is
         * ASCII, so the same parser serves all versions. */
        cursor c = {g, path, text, text + header_len};
        memset(h, 0, sizeof *h);
        s = parse_header(&c, h);
    }
    clg_free(g, text);
    return s;
}

/* Reads exactly `bytes` bytes of data into *data. The file's size (when it
 * can be sought) is checked first, so a corrupt shape cannot make us
 * allocate a huge buffer; otherwise the buffer grows as data arrives. */
static clg_status read_data(clg_graph *g, FILE *f, const char *path, size_t bytes, float **data)
{
    *data = NULL;
    long start = ftell(f);
    if (start >= 0 && fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end < 0 || fseek(f, start, SEEK_SET) != 0)
            return clg_fail(g, CLG_ERR_IO, "cannot seek in %s: %s", path, strerror(errno));
        size_t found = (size_t)(end - start);
        if (found < bytes)
            return clg_fail(g, CLG_ERR_FORMAT, "%s: truncated: expected %zu bytes of data, found %zu", path,
                            bytes, found);
        if (found > bytes)
            return clg_fail(g, CLG_ERR_FORMAT, "%s: expected %zu bytes of data, found %zu (trailing bytes)",
                            path, bytes, found);
    }
    clearerr(f);
    const size_t chunk = (size_t)1 << 24;
    size_t cap = bytes < chunk ? bytes : chunk, n = 0;
    char *buf = clg_malloc(g, cap);
    if (!buf) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory reading %s (%zu bytes)", path, bytes);
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap == bytes) break;
        size_t ncap = cap > bytes / 2 ? bytes : cap * 2;
        char *p = clg_realloc(g, buf, ncap);
        if (!p) {
            clg_free(g, buf);
            return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory reading %s (%zu bytes)", path, bytes);
        }
        buf = p;
        cap = ncap;
    }
    clg_status s = CLG_OK;
    if (ferror(f)) {
        s = clg_fail(g, CLG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    } else if (n < bytes) {
        s = clg_fail(g, CLG_ERR_FORMAT, "%s: truncated: expected %zu bytes of data, found %zu", path, bytes, n);
    } else if (fgetc(f) != EOF) {
        size_t extra = 1;
        while (fgetc(f) != EOF) extra++;
        s = clg_fail(g, CLG_ERR_FORMAT, "%s: expected %zu bytes of data, found %zu (trailing bytes)", path,
                     bytes, bytes + extra);
    }
    if (s) {
        clg_free(g, buf);
        return s;
    }
    *data = (float *)buf;
    return CLG_OK;
}

clg_status clg_graph_read_npy(clg_graph *g, const char *path, int input_index, clg_tensor *out)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "read_npy: path or out is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return clg_fail(g, CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    npy_header h;
    size_t bytes = 0;
    float *data = NULL;
    clg_dtype dtype = CLG_DTYPE_F32;
    clg_status s = read_header(g, f, path, &h);
    if (!s) s = check_header(g, path, &h, &bytes, &dtype);
    if (!s && input_index >= 0) s = check_input(g, path, &h, dtype, input_index);
    if (!s) s = read_data(g, f, path, bytes, &data);
    fclose(f);
    if (s) return s;
    size_t elem = clg_dtype_size(dtype);
    if (!host_is_little_endian()) swap_elems(data, bytes / elem, elem);
    out->data = data;
    out->dtype = dtype;
    out->rank = h.rank;
    memcpy(out->dims, h.dims, (size_t)h.rank * sizeof h.dims[0]);
    return CLG_OK;
}

void clg_graph_free_tensor(clg_graph *g, clg_tensor *t)
{
    if (!t) return;
    if (g) clg_free(g, t->data);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- writing */

/* The header numpy.save writes for a C-order array of t's dtype, magic
 * included; returns its length (a multiple of NPY_ALIGN). */
static size_t make_header(const clg_tensor *t, char *out, size_t size)
{
    char shape[160];
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                       descrs[t->dtype], tuple_str(t->rank, t->dims, shape, sizeof shape));
    char first[24];
    int growth = NPY_GROWTH_DIGITS - snprintf(first, sizeof first, "%lld", (long long)t->dims[0]);
    size_t hlen = (size_t)len + (size_t)(growth > 0 ? growth : 0) + 1; /* + '\n' */
    size_t pad = NPY_ALIGN - (NPY_MAGIC_LEN + 2 + 2 + hlen) % NPY_ALIGN;
    size_t total = NPY_MAGIC_LEN + 2 + 2 + hlen + pad;
    if (total > size) return 0;
    memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
    out[6] = 1;
    out[7] = 0;
    out[8] = (char)((hlen + pad) & 0xff);
    out[9] = (char)((hlen + pad) >> 8);
    memcpy(out + 10, dict, (size_t)len);
    memset(out + 10 + len, ' ', total - 11 - (size_t)len);
    out[total - 1] = '\n';
    return total;
}

clg_status clg_graph_write_npy(clg_graph *g, const char *path, const clg_tensor *t)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!path || !t || !t->data)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "write_npy: path, tensor or data is NULL");
    if (t->rank < 1 || t->rank > CLG_MAX_RANK)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "write_npy %s: rank %d is outside 1..%d", path, t->rank,
                        CLG_MAX_RANK);
    size_t elem = clg_dtype_size(t->dtype);
    if (!elem)
        return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "write_npy %s: unknown dtype %d", path, (int)t->dtype);
    size_t count = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 1)
            return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "write_npy %s: dimension %d is %lld, not positive", path,
                            i, (long long)t->dims[i]);
        if ((uint64_t)t->dims[i] > SIZE_MAX / sizeof(int64_t) / count)
            return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "write_npy %s: the tensor is too large", path);
        count *= (size_t)t->dims[i];
    }
    char header[512];
    size_t header_len = make_header(t, header, sizeof header);
    FILE *f = fopen(path, "wb");
    if (!f) return clg_fail(g, CLG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    bool ok = fwrite(header, 1, header_len, f) == header_len;
    if (host_is_little_endian() || elem == 1) {
        ok = ok && fwrite(t->data, elem, count, f) == count;
    } else {
        int64_t chunk[1024];
        for (size_t i = 0; ok && i < count; i += 1024) {
            size_t n = count - i < 1024 ? count - i : 1024;
            memcpy(chunk, (const char *)t->data + i * elem, n * elem);
            swap_elems(chunk, n, elem);
            ok = fwrite(chunk, elem, n, f) == n;
        }
    }
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        remove(path);
        return clg_fail(g, CLG_ERR_IO, "cannot write %s: %s", path, strerror(err));
    }
    return CLG_OK;
}
