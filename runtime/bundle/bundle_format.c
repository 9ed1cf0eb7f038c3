/* The bundle container (docs/bundle.md):
 *
 *     0   "CLGBNDL\0"          magic
 *     8   version   u32        CLG_BUNDLE_VERSION
 *     12  sections  u32        1..CLG_BUNDLE_MAX_SECTIONS
 *     16  file size u64        the whole file: a truncated one fails here
 *     24  checksum  u64        FNV-1a of bytes 0..23 and the section table
 *     32  table: per section   tag[4], flags u32 (0), offset u64, size u64,
 *                              checksum u64 (of the section's bytes: clg_sum64
 *                              from version 2, FNV-1a in version 1)
 *     then the sections, each at an 8-byte aligned offset.
 *
 * Integers are little-endian. Nothing is trusted: every offset and size is
 * checked against the file before it is used, and every byte is covered by
 * a checksum, so a damaged file is CLG_ERR_FORMAT naming the section and
 * the offset, never a crash or a silently different model. Unknown tags
 * are skipped (a later version may add sections). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "cache_file.h"
#include "weights_file.h"

const char clg_bundle_tags[CLG_SEC_COUNT][5] = {"INFO", "GRPH", "WGHT", "CHOI", "PROG"};

/* Sizes no bundle of ours reaches: a larger one is damage. */
#define MAX_NAME 4096
#define MAX_OPTIONS 65536

/* A section's checksum in format version `version`: version 1 took
 * FNV-1a, one multiply per byte (a third of a ResNet-18 bundle's load on
 * PoCL went to it); version 2 takes clg_sum64. */
static uint64_t section_sum(uint32_t version, const unsigned char *p, size_t n)
{
    return version == 1 ? clg_fnv1a(CLG_FNV_OFFSET, p, n) : clg_sum64(p, n);
}

void clg_bundle_reseal(unsigned char *d, size_t len)
{
    if (len < CLG_BUNDLE_HEADER) return;
    uint32_t n = clg_le_get32(d + 12);
    if (n > CLG_BUNDLE_MAX_SECTIONS || CLG_BUNDLE_HEADER + (size_t)n * CLG_BUNDLE_ENTRY > len) return;
    clg_le_put64(d + 16, len);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *e = d + CLG_BUNDLE_HEADER + i * CLG_BUNDLE_ENTRY;
        uint64_t off = clg_le_get64(e + 8), sz = clg_le_get64(e + 16);
        if (off <= len && sz <= len - off)
            clg_le_put64(e + 24, section_sum(clg_le_get32(d + 8), d + off, (size_t)sz));
    }
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, d, 24);
    clg_le_put64(d + 24, clg_fnv1a(h, d + CLG_BUNDLE_HEADER, (size_t)n * CLG_BUNDLE_ENTRY));
}

static clg_status format_error(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static clg_status format_error(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return CLG_ERR_FORMAT;
}

/* ---------------------------------------------------------------- writing */

void clg_bytes_put(clg_bytes *b, const void *data, size_t n)
{
    if (b->oom || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        unsigned char *p = clg_mem_realloc(b->a, b->data, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

void clg_bytes_u32(clg_bytes *b, uint32_t v)
{
    unsigned char p[4];
    clg_le_put32(p, v);
    clg_bytes_put(b, p, 4);
}

void clg_bytes_u64(clg_bytes *b, uint64_t v)
{
    unsigned char p[8];
    clg_le_put64(p, v);
    clg_bytes_put(b, p, 8);
}

void clg_bytes_str(clg_bytes *b, const char *s) { clg_bytes_put(b, s, strlen(s)); }

void clg_bundle_put_program(clg_bytes *out, const char *file, const char *options, const char *source,
                            const unsigned char *binary, size_t binary_len)
{
    clg_bytes_u32(out, (uint32_t)strlen(file));
    clg_bytes_str(out, file);
    clg_bytes_u32(out, (uint32_t)strlen(options));
    clg_bytes_str(out, options);
    clg_bytes_u64(out, strlen(source));
    clg_bytes_str(out, source);
    clg_bytes_u64(out, binary ? binary_len : 0);
    if (binary) clg_bytes_put(out, binary, binary_len);
}

void clg_bundle_put_info(clg_bytes *out, const char *version, const char *identity, clg_precision precision)
{
    /* identity is "platform\ndevice\ndriver" */
    const char *keys[3] = {"platform ", "device ", "driver "};
    clg_bytes_str(out, "clgraph ");
    clg_bytes_str(out, version);
    const char *p = identity;
    for (int i = 0; i < 3; i++) {
        const char *nl = i < 2 ? strchr(p, '\n') : NULL;
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        clg_bytes_str(out, "\n");
        clg_bytes_str(out, keys[i]);
        clg_bytes_put(out, p, n);
        p = nl ? nl + 1 : p + n;
    }
    clg_bytes_str(out, "\nprecision ");
    clg_bytes_str(out, clg_precision_name(precision));
    clg_bytes_str(out, "\n");
}

clg_status clg_bundle_serialize(const clg_allocator *a, const clg_bundle_out *sections, unsigned char **out,
                                size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t table_end = CLG_BUNDLE_HEADER + CLG_SEC_COUNT * CLG_BUNDLE_ENTRY;
    size_t total = table_end;
    size_t offsets[CLG_SEC_COUNT];
    for (int i = 0; i < CLG_SEC_COUNT; i++) {
        total = (total + 7) / 8 * 8;
        offsets[i] = total;
        total += sections->size[i];
    }
    unsigned char *f = clg_mem_calloc(a, total, 1);
    if (!f) return CLG_ERR_OUT_OF_MEMORY;
    memcpy(f, CLG_BUNDLE_MAGIC, 8);
    clg_le_put32(f + 8, CLG_BUNDLE_VERSION);
    clg_le_put32(f + 12, CLG_SEC_COUNT);
    clg_le_put64(f + 16, total);
    for (int i = 0; i < CLG_SEC_COUNT; i++) {
        unsigned char *e = f + CLG_BUNDLE_HEADER + (size_t)i * CLG_BUNDLE_ENTRY;
        if (sections->size[i]) memcpy(f + offsets[i], sections->data[i], sections->size[i]);
        memcpy(e, clg_bundle_tags[i], 4);
        clg_le_put32(e + 4, 0);
        clg_le_put64(e + 8, offsets[i]);
        clg_le_put64(e + 16, sections->size[i]);
        clg_le_put64(e + 24, section_sum(CLG_BUNDLE_VERSION, f + offsets[i], sections->size[i]));
    }
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, f, 24);
    clg_le_put64(f + 24, clg_fnv1a(h, f + CLG_BUNDLE_HEADER, table_end - CLG_BUNDLE_HEADER));
    *out = f;
    *len = total;
    return CLG_OK;
}

/* ---------------------------------------------------------------- reading */

void clg_bundle_free(clg_bundle *b)
{
    if (!b) return;
    for (int i = 0; i < b->n_programs; i++) {
        clg_mem_free(&b->allocator, b->programs[i].file);
        clg_mem_free(&b->allocator, b->programs[i].options);
        clg_mem_free(&b->allocator, b->programs[i].source);
    }
    clg_mem_free(&b->allocator, b->programs);
    clg_mem_free(&b->allocator, b->choices);
    b->programs = NULL;
    b->n_programs = 0;
    b->choices = NULL;
}

/* A copy of n bytes as a string; NULL when out of memory. */
static char *copy_str(const clg_allocator *a, const unsigned char *p, size_t n)
{
    char *s = clg_mem_realloc(a, NULL, n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* INFO: "KEY VALUE" lines; clgraph, platform, device and driver needed;
 * precision (version 3) optional, fp32 without it (so the sections of an
 * older bundle written again as version 3 mean the same model). */
static clg_status parse_info(clg_bundle *b, char *err, size_t err_size)
{
    const clg_bundle_bytes *s = &b->sec[CLG_SEC_INFO];
    static const char *const keys[5] = {"clgraph", "platform", "device", "driver", "precision"};
    char values[5][256];
    bool have[5] = {false, false, false, false, false};
    size_t pos = 0;
    while (pos < s->size) {
        const unsigned char *line = s->data + pos;
        const unsigned char *nl = memchr(line, '\n', s->size - pos);
        if (!nl)
            return format_error(err, err_size, "section INFO (offset %llu): line at byte %zu has no end",
                                (unsigned long long)s->offset, pos);
        size_t n = (size_t)(nl - line);
        bool known = false;
        for (int k = 0; k < 5 && !known; k++) {
            size_t kl = strlen(keys[k]);
            if (n <= kl || memcmp(line, keys[k], kl) != 0 || line[kl] != ' ') continue;
            known = true;
            size_t vl = n - kl - 1;
            if (vl >= sizeof values[k] || memchr(line + kl + 1, '\0', vl))
                return format_error(err, err_size, "section INFO (offset %llu): the %s at byte %zu is malformed",
                                    (unsigned long long)s->offset, keys[k], pos);
            memcpy(values[k], line + kl + 1, vl);
            values[k][vl] = '\0';
            have[k] = true;
        }
        pos += n + 1;
    }
    for (int k = 0; k < 4; k++)
        if (!have[k])
            return format_error(err, err_size, "section INFO (offset %llu): no '%s' line",
                                (unsigned long long)s->offset, keys[k]);
    b->precision = CLG_PRECISION_FP32;
    if (have[4]) {
        static const clg_precision all[] = {CLG_PRECISION_FP32, CLG_PRECISION_FP16_STORAGE, CLG_PRECISION_FP16};
        int k = 0;
        while (k < 3 && strcmp(values[4], clg_precision_name(all[k]))) k++;
        if (k == 3)
            return format_error(err, err_size, "section INFO (offset %llu): precision '%s' is not fp32, "
                                "fp16-storage or fp16", (unsigned long long)s->offset, values[4]);
        b->precision = all[k];
    }
    snprintf(b->version, sizeof b->version, "%s", values[0]);
    snprintf(b->identity, sizeof b->identity, "%s\n%s\n%s", values[1], values[2], values[3]);
    return CLG_OK;
}

/* PROG: u32 count, then per program: u32 + file name, u32 + options,
 * u64 + source, u64 + binary. */
static clg_status parse_programs(clg_bundle *b, char *err, size_t err_size)
{
    const clg_bundle_bytes *s = &b->sec[CLG_SEC_PROGRAMS];
    const unsigned char *p = s->data, *end = s->data + s->size;
#define NEED(n, what)                                                                                         \
    do {                                                                                                      \
        if ((uint64_t)(end - p) < (uint64_t)(n))                                                              \
            return format_error(err, err_size, "section PROG (offset %llu): program %d's %s at byte %zu runs " \
                                "past the section's %zu bytes", (unsigned long long)s->offset, i, what,       \
                                (size_t)(p - s->data), s->size);                                              \
    } while (0)
    int i = -1;
    NEED(4, "count");
    uint32_t count = clg_le_get32(p);
    p += 4;
    /* Each program takes at least 24 bytes: a count past that is damage. */
    if (count > s->size / 24)
        return format_error(err, err_size, "section PROG (offset %llu): %u programs cannot fit in %zu bytes",
                            (unsigned long long)s->offset, count, s->size);
    if (count && !(b->programs = clg_mem_calloc(&b->allocator, count, sizeof *b->programs)))
        return CLG_ERR_OUT_OF_MEMORY;
    for (i = 0; i < (int)count; i++) {
        clg_bundle_program *pr = &b->programs[i];
        b->n_programs = i + 1;
        uint64_t n;
        const char *fields[3] = {"file name", "options", "source"};
        char **into[3] = {&pr->file, &pr->options, &pr->source};
        uint64_t limit[3] = {MAX_NAME, MAX_OPTIONS, UINT64_MAX};
        for (int f = 0; f < 3; f++) {
            int w = f < 2 ? 4 : 8;
            NEED(w, fields[f]);
            n = w == 4 ? clg_le_get32(p) : clg_le_get64(p);
            p += w;
            if (n > limit[f])
                return format_error(err, err_size, "section PROG (offset %llu): program %d's %s length %llu is "
                                    "too large", (unsigned long long)s->offset, i, fields[f], (unsigned long long)n);
            NEED(n, fields[f]);
            if (memchr(p, '\0', (size_t)n))
                return format_error(err, err_size, "section PROG (offset %llu): program %d's %s at byte %zu "
                                    "holds a NUL", (unsigned long long)s->offset, i, fields[f],
                                    (size_t)(p - s->data));
            if (!(*into[f] = copy_str(&b->allocator, p, (size_t)n))) return CLG_ERR_OUT_OF_MEMORY;
            p += n;
        }
        NEED(8, "binary length");
        n = clg_le_get64(p);
        p += 8;
        NEED(n, "binary");
        pr->binary = n ? p : NULL;
        pr->binary_len = (size_t)n;
        p += n;
    }
    if (p != end)
        return format_error(err, err_size, "section PROG (offset %llu): %zu bytes left after %u programs",
                            (unsigned long long)s->offset, (size_t)(end - p), count);
#undef NEED
    return CLG_OK;
}

static clg_status parse(const unsigned char *d, size_t len, clg_bundle *b, char *err,
                        size_t err_size)
{
    if (len < CLG_BUNDLE_HEADER)
        return format_error(err, err_size, "header (offset 0): %zu bytes, shorter than the %d-byte header", len,
                            CLG_BUNDLE_HEADER);
    if (memcmp(d, CLG_BUNDLE_MAGIC, 8) != 0)
        return format_error(err, err_size, "header (offset 0): not a clgraph bundle (wrong magic)");
    uint32_t version = clg_le_get32(d + 8), n_sec = clg_le_get32(d + 12);
    if (version < 1 || version > CLG_BUNDLE_VERSION)
        return format_error(err, err_size, "header (offset 8): bundle format version %u; this clgraph reads "
                            "versions 1 to %d", version, CLG_BUNDLE_VERSION);
    if (n_sec == 0 || n_sec > CLG_BUNDLE_MAX_SECTIONS)
        return format_error(err, err_size, "header (offset 12): %u sections (1 to %d expected)", n_sec,
                            CLG_BUNDLE_MAX_SECTIONS);
    uint64_t size = clg_le_get64(d + 16);
    if (size != len)
        return format_error(err, err_size, "header (offset 16): the bundle says it has %llu bytes, the data has "
                            "%zu (%s)", (unsigned long long)size, len, size > len ? "truncated" : "trailing bytes");
    size_t table_end = CLG_BUNDLE_HEADER + (size_t)n_sec * CLG_BUNDLE_ENTRY;
    if (table_end > len)
        return format_error(err, err_size, "section table (offset %d): %u entries run past the end of the "
                            "%zu-byte file", CLG_BUNDLE_HEADER, n_sec, len);
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, d, 24);
    if (clg_fnv1a(h, d + CLG_BUNDLE_HEADER, table_end - CLG_BUNDLE_HEADER) != clg_le_get64(d + 24))
        return format_error(err, err_size, "header (offset 24): the checksum of the header and section table "
                            "does not match");
    for (uint32_t i = 0; i < n_sec; i++) {
        const unsigned char *e = d + CLG_BUNDLE_HEADER + (size_t)i * CLG_BUNDLE_ENTRY;
        size_t at = CLG_BUNDLE_HEADER + (size_t)i * CLG_BUNDLE_ENTRY;
        uint64_t off = clg_le_get64(e + 8), n = clg_le_get64(e + 16);
        if (off < table_end || off > len || n > len - off)
            return format_error(err, err_size, "section table entry %u (offset %zu): bytes %llu..%llu are "
                                "outside the file's %zu", i, at, (unsigned long long)off,
                                (unsigned long long)(off + n), len);
        int k = -1;
        for (int t = 0; t < CLG_SEC_COUNT; t++)
            if (memcmp(e, clg_bundle_tags[t], 4) == 0) k = t;
        if (k < 0) continue; /* a section of a later version */
        if (b->sec[k].data)
            return format_error(err, err_size, "section table entry %u (offset %zu): a second %s section", i, at,
                                clg_bundle_tags[k]);
        if (section_sum(version, d + off, (size_t)n) != clg_le_get64(e + 24))
            return format_error(err, err_size, "section %s (offset %llu, %llu bytes): checksum mismatch",
                                clg_bundle_tags[k], (unsigned long long)off, (unsigned long long)n);
        b->sec[k] = (clg_bundle_bytes){d + off, (size_t)n, off};
    }
    for (int k = 0; k < CLG_SEC_COUNT; k++)
        if (!b->sec[k].data)
            return format_error(err, err_size, "section table (offset %d): no %s section", CLG_BUNDLE_HEADER,
                                clg_bundle_tags[k]);
    clg_status s = parse_info(b, err, err_size);
    if (s) return s;
    const clg_bundle_bytes *c = &b->sec[CLG_SEC_CHOICES];
    if (memchr(c->data, '\0', c->size))
        return format_error(err, err_size, "section CHOI (offset %llu): holds a NUL", (unsigned long long)c->offset);
    if (!(b->choices = copy_str(&b->allocator, c->data, c->size))) return CLG_ERR_OUT_OF_MEMORY;
    return parse_programs(b, err, err_size);
}

clg_status clg_bundle_parse(const clg_allocator *a, const void *data, size_t len, clg_bundle *b, char *err,
                            size_t err_size)
{
    memset(b, 0, sizeof *b);
    b->allocator = *a;
    if (err_size) err[0] = '\0';
    if (!data && len) return format_error(err, err_size, "no data");
    clg_status s = parse(data, len, b, err, err_size);
    if (s == CLG_ERR_OUT_OF_MEMORY) snprintf(err, err_size, "out of memory reading the bundle");
    if (s) clg_bundle_free(b);
    return s;
}

clg_status clg_bundle_graph(const clg_bundle *b, clg_graph *g, char *err, size_t err_size)
{
    const clg_bundle_bytes *t = &b->sec[CLG_SEC_GRAPH], *w = &b->sec[CLG_SEC_WEIGHTS];
    clg_status s = clg_graph_parse_with_weights(g, (const char *)t->data, t->size, w->data, w->size);
    if (s == CLG_ERR_OUT_OF_MEMORY) {
        snprintf(err, err_size, "out of memory reading the bundle's graph");
        return s;
    }
    if (s) {
        /* The checksums held, so the text is what was written: still, a
         * bundle whose graph does not parse is a malformed bundle. */
        snprintf(err, err_size, "section GRPH (offset %llu): %s", (unsigned long long)t->offset, clg_graph_errmsg(g));
        return CLG_ERR_FORMAT;
    }
    return CLG_OK;
}
