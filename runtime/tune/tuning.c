/* CLBlast's kernel parameters per device: which ones clgraph tunes, when a
 * set is valid, the file that keeps a device's set next to the program
 * cache, and applying it to CLBlast when a context opens.
 *
 * The file is <cache dir>/tuning-<16 hex digits>.txt, named by a hash of
 * the platform and device names, and is plain text so a person can read
 * what a tune chose:
 *
 *     clgraph-tuning 1
 *     platform<TAB>Portable Computing Language
 *     device<TAB>pthread-skylake-avx512-Intel(R) Xeon(R) Processor
 *     driver<TAB>3.1+debian
 *     clblast<TAB>1.5.3
 *     created<TAB>1764211200
 *     level<TAB>quick
 *     seconds<TAB>274.1
 *     shape<TAB>1024 1024 1024 NN<TAB>21.30<TAB>112.04     (zero or more)
 *     kernel<TAB>Xgemm<TAB>GEMMK=0 KREG=1 ...               (zero or more)
 *     checksum<TAB>0123456789abcdef
 *
 * in exactly this order, the checksum being FNV-1a over every byte before
 * its line. Nothing in a file is trusted: a wrong checksum, platform, device,
 * driver or CLBlast version, an unknown kernel, a missing or repeated
 * parameter, or values CLBlast's tuner could not have produced make the
 * whole file ignored. The driver is checked inside rather than hashed into
 * the name so that a driver update finds the old file and calls it stale,
 * and the next tune replaces it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_file.h"
#include "tuning.h"

#include <clblast_c.h>

#ifndef CLG_CLBLAST_VERSION
#define CLG_CLBLAST_VERSION "unknown"
#endif

#define FORMAT_VERSION 1
#define MAX_FILE_BYTES (64 * 1024)
/* XGEMM_MIN_INDIRECT_SIZE is a cube root of m·n·k; past this it means "always direct". */
#define MAX_INDIRECT_SIZE (1u << 20)

/* ---------------------------------------------------------------- kernels */

static const clg_tune_kernel KERNELS[CLG_TK_COUNT] = {
    [CLG_TK_COPY] = {"Copy", "clblast_tuner_copy_fast", 4,
                     {"COPY_DIMX", "COPY_DIMY", "COPY_VW", "COPY_WPT"}},
    [CLG_TK_PAD] = {"Pad", "clblast_tuner_copy_pad", 4,
                    {"PAD_DIMX", "PAD_DIMY", "PAD_WPTX", "PAD_WPTY"}},
    [CLG_TK_TRANSPOSE] = {"Transpose", "clblast_tuner_transpose_fast", 4,
                          {"TRA_DIM", "TRA_PAD", "TRA_SHUFFLE", "TRA_WPT"}},
    [CLG_TK_PADTRANSPOSE] = {"Padtranspose", "clblast_tuner_transpose_pad", 3,
                             {"PADTRA_PAD", "PADTRA_TILE", "PADTRA_WPT"}},
    [CLG_TK_XGEMM_DIRECT] = {"XgemmDirect", "clblast_tuner_xgemm_direct", 10,
                             {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD", "PADA", "PADB",
                              "VWMD", "VWND", "WGD"}},
    [CLG_TK_XGEMM] = {"Xgemm", "clblast_tuner_xgemm", 16,
                      {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC",
                       "NWG", "SA", "SB", "STRM", "STRN", "VWM", "VWN"}},
    [CLG_TK_GEMM_ROUTINE] = {"GemmRoutine", NULL, 1, {"XGEMM_MIN_INDIRECT_SIZE"}},
};

const clg_tune_kernel *clg_tune_kernel_get(clg_tune_kernel_id id)
{
    return id >= 0 && id < CLG_TK_COUNT ? &KERNELS[id] : NULL;
}

int clg_tune_kernel_find(const char *name)
{
    for (int i = 0; i < CLG_TK_COUNT; i++)
        if (strcmp(KERNELS[i].name, name) == 0) return i;
    return -1;
}

int clg_tune_param_find(clg_tune_kernel_id id, const char *param)
{
    const clg_tune_kernel *k = clg_tune_kernel_get(id);
    for (int i = 0; k && i < k->n_params; i++)
        if (strcmp(k->params[i], param) == 0) return i;
    return -1;
}

/* On/off switches: SA/SB (local memory), STRM/STRN (strided access),
 * PADA/PADB, TRA_PAD, TRA_SHUFFLE, PADTRA_PAD, and GEMMK (kernel variant). */
static bool is_flag(const char *p)
{
    static const char *const flags[] = {"GEMMK", "SA",      "SB",          "STRM",      "STRN",
                                        "PADA",  "PADB",    "TRA_PAD",     "TRA_SHUFFLE",
                                        "PADTRA_PAD"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (strcmp(p, flags[i]) == 0) return true;
    return false;
}

static bool pow2(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

static size_t param(clg_tune_kernel_id id, const size_t *values, const char *name)
{
    return values[clg_tune_param_find(id, name)];
}

/* a % b == 0 with b > 0, and say which rule broke otherwise. */
static bool multiple(size_t a, size_t b, const char *rule, char *why, size_t why_size)
{
    if (b != 0 && a % b == 0) return true;
    if (why) snprintf(why, why_size, "%s does not hold", rule);
    return false;
}

bool clg_tune_params_valid(clg_tune_kernel_id id, const size_t *values, char *why, size_t why_size)
{
    const clg_tune_kernel *k = clg_tune_kernel_get(id);
    if (!k) return false;
    for (int i = 0; i < k->n_params; i++) {
        const char *p = k->params[i];
        size_t v = values[i];
        bool ok = id == CLG_TK_GEMM_ROUTINE ? v <= MAX_INDIRECT_SIZE
                  : is_flag(p)              ? v <= 1
                                            : pow2(v) && v <= 256;
        if (!ok) {
            if (why) snprintf(why, why_size, "%s=%zu is out of range", p, v);
            return false;
        }
    }
#define P(name) param(id, values, name)
#define MULTIPLE(a, b, rule) \
    if (!multiple((a), (b), rule, why, why_size)) return false
    /* The rules CLBlast's tuners impose so that every work-item gets whole
     * vectors and the tile loads divide evenly. */
    if (id == CLG_TK_XGEMM) {
        MULTIPLE(P("KWG"), P("KWI"), "KWG % KWI == 0");
        MULTIPLE(P("MWG"), P("MDIMC") * P("VWM"), "MWG % (MDIMC*VWM) == 0");
        MULTIPLE(P("NWG"), P("NDIMC") * P("VWN"), "NWG % (NDIMC*VWN) == 0");
        MULTIPLE(P("MWG"), P("MDIMA") * P("VWM"), "MWG % (MDIMA*VWM) == 0");
        MULTIPLE(P("NWG"), P("NDIMB") * P("VWN"), "NWG % (NDIMB*VWN) == 0");
        if (P("GEMMK") == 0) {
            size_t threads = P("MDIMC") * P("NDIMC");
            MULTIPLE(threads, P("MDIMA"), "(MDIMC*NDIMC) % MDIMA == 0");
            MULTIPLE(threads, P("NDIMB"), "(MDIMC*NDIMC) % NDIMB == 0");
            MULTIPLE(P("KWG"), threads / P("MDIMA"), "KWG % (MDIMC*NDIMC/MDIMA) == 0");
            MULTIPLE(P("KWG"), threads / P("NDIMB"), "KWG % (MDIMC*NDIMC/NDIMB) == 0");
        }
    } else if (id == CLG_TK_XGEMM_DIRECT) {
        size_t threads = P("MDIMCD") * P("NDIMCD");
        MULTIPLE(P("WGD"), P("KWID"), "WGD % KWID == 0");
        MULTIPLE(P("WGD"), P("MDIMCD") * P("VWMD"), "WGD % (MDIMCD*VWMD) == 0");
        MULTIPLE(P("WGD"), P("NDIMCD") * P("VWND"), "WGD % (NDIMCD*VWND) == 0");
        MULTIPLE(P("WGD"), P("MDIMAD") * P("VWMD"), "WGD % (MDIMAD*VWMD) == 0");
        MULTIPLE(P("WGD"), P("NDIMBD") * P("VWND"), "WGD % (NDIMBD*VWND) == 0");
        MULTIPLE(threads, P("MDIMAD"), "(MDIMCD*NDIMCD) % MDIMAD == 0");
        MULTIPLE(threads, P("NDIMBD"), "(MDIMCD*NDIMCD) % NDIMBD == 0");
        MULTIPLE(P("WGD"), threads / P("MDIMAD"), "WGD % (MDIMCD*NDIMCD/MDIMAD) == 0");
        MULTIPLE(P("WGD"), threads / P("NDIMBD"), "WGD % (MDIMCD*NDIMCD/NDIMBD) == 0");
    }
#undef MULTIPLE
#undef P
    return true;
}

/* ---------------------------------------------------------------- hashing */

/* Identifies a parameter set (what CLBlast runs), not the file around it. */
static uint64_t set_hash(const clg_tuning *t)
{
    uint64_t h = CLG_FNV_OFFSET;
    for (int i = 0; i < CLG_TK_COUNT; i++) {
        unsigned char has = t->has[i];
        h = clg_fnv1a(h, &has, 1);
        if (has) h = clg_fnv1a(h, t->values[i], (size_t)KERNELS[i].n_params * sizeof(size_t));
    }
    return h;
}

/* ---------------------------------------------------------------- text */

typedef struct text_buf {
    const clg_allocator *a;
    char *s;
    size_t len, cap;
    bool failed;
} text_buf;

static void put(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_buf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *s = clg_mem_realloc(b->a, b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static bool plain(const char *s)
{
    return strchr(s, '\n') == NULL && strchr(s, '\t') == NULL && strchr(s, '\r') == NULL;
}

clg_status clg_tuning_format(const clg_allocator *a, const clg_tuning *t,
                             const clg_device_info *device, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (!plain(device->platform) || !plain(device->name) || !plain(device->driver) ||
        !plain(t->level) || strchr(t->level, ' ') || !t->level[0])
        return CLG_ERR_INVALID_ARGUMENT;
    text_buf b = {a, NULL, 0, 0, false};
    put(&b, "clgraph-tuning %d\n", FORMAT_VERSION);
    put(&b, "platform\t%s\ndevice\t%s\ndriver\t%s\n", device->platform, device->name,
        device->driver);
    put(&b, "clblast\t%s\ncreated\t%" PRId64 "\nlevel\t%s\nseconds\t%.1f\n", CLG_CLBLAST_VERSION,
        t->created, t->level, t->seconds);
    for (int i = 0; i < t->n_shapes && i < CLG_TUNE_MAX_SHAPES; i++) {
        const clg_tune_shape *s = &t->shapes[i];
        put(&b, "shape\t%" PRId64 " %" PRId64 " %" PRId64 " %s\t%.2f\t%.2f\n", s->m, s->n, s->k,
            s->trans_b ? "NT" : "NN", s->before_gflops, s->after_gflops);
    }
    for (int i = 0; i < CLG_TK_COUNT; i++) {
        if (!t->has[i]) continue;
        put(&b, "kernel\t%s\t", KERNELS[i].name);
        for (int j = 0; j < KERNELS[i].n_params; j++)
            put(&b, "%s%s=%zu", j ? " " : "", KERNELS[i].params[j], t->values[i][j]);
        put(&b, "\n");
    }
    uint64_t sum = b.failed ? 0 : clg_fnv1a(CLG_FNV_OFFSET, b.s, b.len);
    put(&b, "checksum\t%016" PRIx64 "\n", sum);
    if (b.failed) {
        clg_mem_free(a, b.s);
        return CLG_ERR_OUT_OF_MEMORY;
    }
    *text = b.s;
    *len = b.len;
    return CLG_OK;
}

/* ---------------------------------------------------------------- parsing */

typedef struct line_reader {
    const char *p, *end;
    int number;
} line_reader;

/* The next line (without its '\n') as key and value split at the first
 * tab; false at the end or for a line without a tab or newline. */
static bool next_line(line_reader *r, char *key, size_t key_size, const char **value,
                      size_t *value_len)
{
    if (r->p >= r->end) return false;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl) return false;
    const char *tab = memchr(r->p, '\t', (size_t)(nl - r->p));
    r->number++;
    if (!tab || (size_t)(tab - r->p) >= key_size) {
        r->p = nl + 1;
        key[0] = '\0';
        *value = NULL;
        *value_len = 0;
        return true;
    }
    memcpy(key, r->p, (size_t)(tab - r->p));
    key[tab - r->p] = '\0';
    *value = tab + 1;
    *value_len = (size_t)(nl - tab - 1);
    r->p = nl + 1;
    return true;
}

static bool value_is(const char *value, size_t len, const char *expected)
{
    return value && strlen(expected) == len && memcmp(value, expected, len) == 0;
}

/* Copies a value into a NUL-terminated buffer; false if it does not fit. */
static bool value_copy(const char *value, size_t len, char *buf, size_t size)
{
    if (!value || len >= size) return false;
    memcpy(buf, value, len);
    buf[len] = '\0';
    return true;
}

static bool parse_u64(const char *s, char **end, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9') return false;
    errno = 0;
    unsigned long long v = strtoull(s, end, 10);
    if (errno || v > max) return false;
    *out = v;
    return true;
}

/* "GEMMK=0 KREG=1 ..." with each of the kernel's parameters exactly once. */
static bool parse_kernel_values(clg_tune_kernel_id id, char *list, size_t *values, char *why,
                                size_t why_size)
{
    const clg_tune_kernel *k = &KERNELS[id];
    bool seen[CLG_TK_MAX_PARAMS] = {false};
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(why, why_size, "'%s' is not NAME=VALUE", tok);
            return false;
        }
        *eq = '\0';
        int i = clg_tune_param_find(id, tok);
        if (i < 0 || seen[i]) {
            snprintf(why, why_size, "%s parameter %s for %s", i < 0 ? "unknown" : "repeated", tok,
                     k->name);
            return false;
        }
        char *end = NULL;
        uint64_t v = 0;
        if (!parse_u64(eq + 1, &end, MAX_INDIRECT_SIZE, &v) || *end) {
            snprintf(why, why_size, "bad value for %s", tok);
            return false;
        }
        values[i] = (size_t)v;
        seen[i] = true;
        count++;
    }
    if (count != k->n_params) {
        snprintf(why, why_size, "%s needs all %d parameters, the file has %d", k->name,
                 k->n_params, count);
        return false;
    }
    char rule[128];
    if (!clg_tune_params_valid(id, values, rule, sizeof rule)) {
        snprintf(why, why_size, "invalid %s parameters: %s", k->name, rule);
        return false;
    }
    return true;
}

bool clg_tuning_parse(const char *text, size_t len, const clg_device_info *device,
                      clg_tuning *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    char dummy[8];
    if (!why) {
        why = dummy;
        why_size = sizeof dummy;
    }
    /* The checksum first: a torn or edited file says so, whatever it holds.
     * The file ends with "\nchecksum\t<16 hex digits>\n". */
    const size_t tail = 9 + 16 + 1;
    if (len < tail + 1 || text[len - tail - 1] != '\n' ||
        memcmp(text + len - tail, "checksum\t", 9) != 0 || text[len - 1] != '\n') {
        snprintf(why, why_size, "corrupt: no checksum line at the end");
        return false;
    }
    const char *mark = text + len - tail;
    char expected[17];
    snprintf(expected, sizeof expected, "%016" PRIx64, clg_fnv1a(CLG_FNV_OFFSET, text, (size_t)(mark - text)));
    if (memcmp(mark + 9, expected, 16) != 0) {
        snprintf(why, why_size, "corrupt: checksum mismatch");
        return false;
    }

    line_reader r = {text, mark, 0};
    const char *nl = memchr(text, '\n', (size_t)(mark - text));
    char header[32];
    snprintf(header, sizeof header, "clgraph-tuning %d", FORMAT_VERSION);
    if (!nl || (size_t)(nl - text) != strlen(header) || memcmp(text, header, strlen(header)) != 0) {
        snprintf(why, why_size, "stale: not a version %d tuning file", FORMAT_VERSION);
        return false;
    }
    r.p = nl + 1;
    r.number = 1;

    char key[16];
    const char *v;
    size_t vlen;
    char buf[256];
    /* The identity, in order. */
    if (!next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "platform") != 0 ||
        !value_is(v, vlen, device->platform) ||
        !next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "device") != 0 ||
        !value_is(v, vlen, device->name)) {
        snprintf(why, why_size, "tuned for another device (%.*s)",
                 v && vlen < 160 ? (int)vlen : 0, v ? v : "");
        return false;
    }
    if (!next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "driver") != 0 ||
        !value_copy(v, vlen, buf, sizeof buf)) {
        snprintf(why, why_size, "corrupt: line %d", r.number);
        return false;
    }
    if (strcmp(buf, device->driver) != 0) {
        snprintf(why, why_size, "stale: tuned with driver %.100s, the device has %.100s", buf,
                 device->driver);
        return false;
    }
    if (!next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "clblast") != 0 ||
        !value_copy(v, vlen, buf, sizeof buf)) {
        snprintf(why, why_size, "corrupt: line %d", r.number);
        return false;
    }
    if (strcmp(buf, CLG_CLBLAST_VERSION) != 0) {
        snprintf(why, why_size, "stale: tuned with CLBlast %.100s, clgraph uses %s", buf,
                 CLG_CLBLAST_VERSION);
        return false;
    }

    /* created, level, seconds */
    uint64_t created = 0;
    char *end = NULL;
    if (!next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "created") != 0 ||
        !value_copy(v, vlen, buf, sizeof buf) || !parse_u64(buf, &end, INT64_MAX, &created) ||
        *end)
        goto corrupt;
    out->created = (int64_t)created;
    if (!next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "level") != 0 ||
        !value_copy(v, vlen, out->level, sizeof out->level) || !out->level[0])
        goto corrupt;
    if (!next_line(&r, key, sizeof key, &v, &vlen) || strcmp(key, "seconds") != 0 ||
        !value_copy(v, vlen, buf, sizeof buf))
        goto corrupt;
    out->seconds = strtod(buf, &end);
    if (*end || !(out->seconds >= 0 && out->seconds < 1e9)) goto corrupt;

    /* shapes, then kernels, then the checksum line where r stops */
    bool in_kernels = false;
    while (next_line(&r, key, sizeof key, &v, &vlen)) {
        if (strcmp(key, "shape") == 0 && !in_kernels) {
            if (out->n_shapes == CLG_TUNE_MAX_SHAPES || !value_copy(v, vlen, buf, sizeof buf))
                goto corrupt;
            clg_tune_shape *s = &out->shapes[out->n_shapes];
            long long m, n, k;
            char tr[3];
            int used = 0;
            if (sscanf(buf, "%lld %lld %lld %2s\t%lf\t%lf%n", &m, &n, &k, tr, &s->before_gflops,
                       &s->after_gflops, &used) != 6 ||
                buf[used] || m <= 0 || n <= 0 || k <= 0 || (strcmp(tr, "NN") && strcmp(tr, "NT")) ||
                !(s->before_gflops >= 0) || !(s->after_gflops >= 0))
                goto corrupt;
            s->m = m;
            s->n = n;
            s->k = k;
            s->trans_b = strcmp(tr, "NT") == 0;
            out->n_shapes++;
        } else if (strcmp(key, "kernel") == 0) {
            in_kernels = true;
            char list[512];
            const char *tab = v ? memchr(v, '\t', vlen) : NULL;
            if (!tab || !value_copy(v, (size_t)(tab - v), buf, sizeof buf) ||
                !value_copy(tab + 1, vlen - (size_t)(tab - v) - 1, list, sizeof list))
                goto corrupt;
            int id = clg_tune_kernel_find(buf);
            if (id < 0 || out->has[id]) {
                snprintf(why, why_size, "%s kernel %.64s", id < 0 ? "unknown" : "repeated", buf);
                return false;
            }
            if (!parse_kernel_values((clg_tune_kernel_id)id, list, out->values[id], why,
                                     why_size))
                return false;
            out->has[id] = true;
        } else {
            goto corrupt;
        }
    }
    if (r.p != mark) goto corrupt;
    return true;

corrupt:
    snprintf(why, why_size, "corrupt: line %d", r.number);
    return false;
}

/* ---------------------------------------------------------------- files */

char *clg_tuning_path(const clg_allocator *a, const char *dir, const clg_device_info *device)
{
    uint64_t h = clg_fnv1a(CLG_FNV_OFFSET, device->platform, strlen(device->platform) + 1);
    h = clg_fnv1a(h, device->name, strlen(device->name) + 1);
    size_t n = strlen(dir) + 64;
    char *p = clg_mem_realloc(a, NULL, n);
    if (p) snprintf(p, n, "%s/tuning-%016" PRIx64 ".txt", dir, h);
    return p;
}

bool clg_tuning_load(const clg_allocator *a, const char *dir, const clg_device_info *device,
                     clg_tuning *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    char *path = clg_tuning_path(a, dir, device);
    if (!path) {
        snprintf(why, why_size, "out of memory");
        return false;
    }
    bool ok = false;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, errno == ENOENT ? "no parameter file" : "ignored: cannot read it");
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > MAX_FILE_BYTES) {
        snprintf(why, why_size, "ignored: not a parameter file");
        goto done;
    }
    size_t size = (size_t)st.st_size;
    buf = clg_mem_realloc(a, NULL, size);
    if (!buf) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    if (!clg_read_all(fd, buf, size)) {
        snprintf(why, why_size, "ignored: cannot read it");
        goto done;
    }
    char reason[200];
    ok = clg_tuning_parse(buf, size, device, out, reason, sizeof reason);
    if (!ok) snprintf(why, why_size, "ignored: %s", reason);
done:
    if (fd >= 0) close(fd);
    clg_mem_free(a, buf);
    clg_mem_free(a, path);
    return ok;
}

clg_status clg_tuning_store(const clg_allocator *a, const char *dir, const clg_device_info *device,
                            const clg_tuning *t, char *err, size_t err_size)
{
    char *text = NULL, *path = NULL, *tmp = NULL;
    size_t len = 0;
    int fd = -1;
    clg_status s = clg_tuning_format(a, t, device, &text, &len);
    if (s != CLG_OK) {
        snprintf(err, err_size, s == CLG_ERR_OUT_OF_MEMORY
                                    ? "out of memory"
                                    : "the device's names cannot be written to a tuning file");
        return s;
    }
    path = clg_tuning_path(a, dir, device);
    size_t n = path ? strlen(path) + 64 : 0;
    tmp = path ? clg_mem_realloc(a, NULL, n) : NULL;
    if (!tmp) {
        snprintf(err, err_size, "out of memory");
        s = CLG_ERR_OUT_OF_MEMORY;
        goto done;
    }
    fd = clg_open_temp_beside(path, tmp, n);
    if (fd < 0) {
        snprintf(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
        s = CLG_ERR_IO;
        goto done;
    }
    /* fsync before rename: the file is minutes of measurement, and a crash
     * must leave the old file or the new one, never an empty one. */
    bool ok = clg_write_all(fd, text, len) && fsync(fd) == 0;
    if (close(fd) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        s = CLG_ERR_IO;
    }
done:
    clg_mem_free(a, tmp);
    clg_mem_free(a, path);
    clg_mem_free(a, text);
    return s;
}

/* ---------------------------------------------------------------- applying */

int clg_tuning_override(cl_device_id device, clg_tune_kernel_id id, const size_t *values)
{
    const clg_tune_kernel *k = &KERNELS[id];
    /* CLBlast's C API takes non-const pointers it does not write through. */
    clg_clblast_lock();
    int rc = (int)CLBlastOverrideParameters(device, k->name, CLBlastPrecisionSingle, (size_t)k->n_params,
                                            (const char **)k->params, values);
    clg_clblast_unlock();
    return rc;
}

/* runtime/tune/clblast_params.cpp */
CLG_INTERNAL int clg_clblast_retrieve(cl_device_id device, const char *kernel, size_t n,
                                      const char *const *names, size_t *values);

int clg_tuning_retrieve(cl_device_id device, clg_tune_kernel_id id, size_t *values)
{
    const clg_tune_kernel *k = &KERNELS[id];
    clg_clblast_lock();
    int rc = clg_clblast_retrieve(device, k->name, (size_t)k->n_params, k->params, values);
    clg_clblast_unlock();
    return rc;
}

/* Which parameter set each device runs in this process. CLBlast keeps its
 * overrides in a process-wide database keyed by device, so this record is
 * process-wide too. */
#define MAX_APPLIED 32
static pthread_mutex_t applied_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    cl_device_id device;
    uint64_t set;
} applied[MAX_APPLIED];
static int n_applied;

static void record_applied(cl_device_id device, uint64_t set)
{
    pthread_mutex_lock(&applied_lock);
    int i = 0;
    while (i < n_applied && applied[i].device != device) i++;
    if (i == n_applied && n_applied < MAX_APPLIED) n_applied++;
    if (i < n_applied) {
        applied[i].device = device;
        applied[i].set = set;
    }
    pthread_mutex_unlock(&applied_lock);
}

static bool is_applied(cl_device_id device, uint64_t set)
{
    pthread_mutex_lock(&applied_lock);
    bool yes = false;
    for (int i = 0; i < n_applied; i++)
        if (applied[i].device == device) yes = applied[i].set == set;
    pthread_mutex_unlock(&applied_lock);
    return yes;
}

int clg_tuning_apply_set(cl_device_id device, const clg_tuning *t)
{
    /* Validated sets only reach here, so CLBlast accepts every kernel; the
     * routine switch goes last so it never points at unapplied kernels. */
    int rc = 0;
    for (int i = 0; i < CLG_TK_COUNT && rc == 0; i++)
        if (t->has[i]) rc = clg_tuning_override(device, (clg_tune_kernel_id)i, t->values[i]);
    /* Partly applied or not, CLBlast no longer runs what it ran before. */
    record_applied(device, rc == 0 ? set_hash(t) : 0);
    return rc;
}

void clg_tuning_forget(cl_device_id device) { record_applied(device, 0); }

uint64_t clg_tuning_state(cl_device_id device)
{
    pthread_mutex_lock(&applied_lock);
    uint64_t set = 0;
    for (int i = 0; i < n_applied; i++)
        if (applied[i].device == device) set = applied[i].set;
    pthread_mutex_unlock(&applied_lock);
    return set;
}

static bool tuning_disabled(void)
{
    const char *off = getenv("CLGRAPH_TUNING");
    return off && strcmp(off, "0") == 0;
}

void clg_tuning_apply(clg_context *ctx)
{
    if (!ctx || !ctx->device || !ctx->tuning_dir || tuning_disabled()) return;
    clg_tuning t;
    char why[256];
    if (clg_tuning_load(&ctx->allocator, ctx->tuning_dir, &ctx->info, &t, why, sizeof why) &&
        !is_applied(ctx->device, set_hash(&t)))
        clg_tuning_apply_set(ctx->device, &t);
}

/* ---------------------------------------------------------------- describing */

void clg_tuning_describe(const clg_tuning *t, clg_tune_info *info)
{
    info->created = t->created;
    snprintf(info->level, sizeof info->level, "%s", t->level);
    info->seconds = t->seconds;
    info->n_shapes = t->n_shapes;
    memcpy(info->shapes, t->shapes, sizeof info->shapes);
    size_t used = 0;
    info->parameters[0] = '\0';
    for (int i = 0; i < CLG_TK_COUNT; i++) {
        if (!t->has[i]) continue;
        char line[512];
        int n = snprintf(line, sizeof line, "%s", KERNELS[i].name);
        for (int j = 0; j < KERNELS[i].n_params && n > 0 && (size_t)n < sizeof line; j++)
            n += snprintf(line + n, sizeof line - (size_t)n, " %s=%zu", KERNELS[i].params[j],
                          t->values[i][j]);
        if (n < 0 || used + strlen(line) + 2 > sizeof info->parameters) break;
        used += (size_t)snprintf(info->parameters + used, sizeof info->parameters - used, "%s\n",
                                 line);
    }
}

/* Fills info for device from the file in dir (NULL: no cache directory,
 * for the reason no_dir gives); applied_on (may be NULL) is the device
 * handle whose in-process state to report. */
static clg_status tuning_info(const clg_allocator *a, const char *dir, const char *no_dir,
                              const clg_device_info *device, cl_device_id applied_on,
                              clg_tune_info *info)
{
    memset(info, 0, sizeof *info);
    if (!dir) {
        snprintf(info->status, sizeof info->status, "no cache directory (%s)", no_dir);
        return CLG_OK;
    }
    char *path = clg_tuning_path(a, dir, device);
    if (!path) return CLG_ERR_OUT_OF_MEMORY;
    snprintf(info->path, sizeof info->path, "%s", path);
    clg_tuning t;
    char why[sizeof info->status] = "";
    if (clg_tuning_load(a, dir, device, &t, why, sizeof why)) {
        info->tuned = 1;
        clg_tuning_describe(&t, info);
        info->applied = applied_on && is_applied(applied_on, set_hash(&t));
        snprintf(info->status, sizeof info->status, "%s",
                 applied_on && !info->applied
                     ? (tuning_disabled() ? "tuned, not applied (CLGRAPH_TUNING=0)"
                                          : "tuned, not applied in this process")
                     : "tuned");
    } else {
        memcpy(info->status, why, sizeof why);
    }
    clg_mem_free(a, path);
    return strcmp(why, "out of memory") == 0 && !info->tuned ? CLG_ERR_OUT_OF_MEMORY : CLG_OK;
}

clg_status clg_device_tuning(const clg_device_info *device, clg_tune_info *info)
{
    if (!device || !info) return CLG_ERR_INVALID_ARGUMENT;
    clg_allocator a = {clg_default_alloc, NULL};
    char *dir = NULL;
    if (clg_cache_dir_resolve(&a, false, false, &dir) != CLG_OK) return CLG_ERR_OUT_OF_MEMORY;
    clg_status s = tuning_info(&a, dir, "set CLGRAPH_CACHE_DIR or HOME", device, NULL, info);
    clg_mem_free(&a, dir);
    return s;
}

clg_status clg_context_tuning(const clg_context *ctx, clg_tune_info *info)
{
    if (!ctx || !info || !ctx->device) return CLG_ERR_INVALID_ARGUMENT;
    return tuning_info(&ctx->allocator, ctx->tuning_dir,
                       "the context's cache_dir is \"\", or neither CLGRAPH_CACHE_DIR nor HOME is set",
                       &ctx->info, ctx->device, info);
}
