/* Saving a model into a bundle and creating a model from one
 * (docs/bundle.md). A bundle is the model as clg_model_create left it:
 * its optimised graph (text and weights, so nothing is optimised again),
 * the decisions its plans made (GEMM choices as the choice file writes
 * them, Attention's fused-or-not), and every program its plans took from
 * the context's cache, binary and source. Loading preseeds the context's
 * in-memory program cache from the binaries and its choices from the
 * bundle's, then creates the model: lowering finds every program and
 * every decision already there, so nothing is compiled or measured. On
 * another device, driver or clgraph version the binaries are not tried:
 * the programs are built from the sources the bundle carries, and
 * clg_model_note says so. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cache_file.h"
#include "gemm.h"
#include "lower.h"
#include "plan.h"
#include "print.h"
#include "weights_file.h"

#define MAX_PLANS 16

static const char *version_string(char *buf, size_t size)
{
    snprintf(buf, size, "%d.%d.%d", CLG_VERSION_MAJOR, CLG_VERSION_MINOR, CLG_VERSION_PATCH);
    return buf;
}

/* ---------------------------------------------------------------- saving */

/* GRPH and WGHT: the text with every listed constant as file(offset) into
 * the weights, so that values travel as bits, not as printed decimals. */
static clg_status graph_sections(clg_graph *g, clg_bytes *text, clg_bytes *weights)
{
    uint64_t *offsets = clg_mem_calloc(&g->allocator, (size_t)g->n_nodes + 1, sizeof *offsets);
    if (!offsets) return CLG_ERR_OUT_OF_MEMORY;
    uint64_t at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const clg_const *c = g->nodes[i].op == CLG_OP_CONSTANT ? g->nodes[i].constant : NULL;
        offsets[i] = CLG_NOT_IN_SIDECAR;
        if (!c || (c->init.kind != CLG_INIT_LIST && c->init.kind != CLG_INIT_FILE)) continue;
        offsets[i] = at;
        for (size_t k = 0; k < c->count; k++) {
            uint32_t bits;
            memcpy(&bits, &c->data[k], 4);
            clg_bytes_u32(weights, bits); /* little-endian whatever the host */
        }
        at += c->count * sizeof(float);
    }
    char *t = NULL;
    size_t len = 0;
    clg_status s = clg_print_with_sidecar(g, "bundle", offsets, &t, &len);
    if (!s) clg_bytes_put(text, t, len);
    clg_mem_free(&g->allocator, t);
    clg_mem_free(&g->allocator, offsets);
    return s;
}

/* CHOI: the GEMM choices of every plan, then Attention's decisions. */
static clg_status choice_section(const clg_model *m, const clg_plan *const *plans, int n_plans, clg_bytes *out)
{
    const clg_graph *g = clg_model_graph(m);
    clg_bytes_str(out, CLG_GEMM_CHOICES_MAGIC "\n");
    for (int p = 0; p < n_plans; p++) {
        const clg_plan *pl = plans[p];
        for (int i = 0; i < pl->n_gemm_memo; i++) {
            char line[200];
            int n = clg_gemm_choice_line(&pl->gemm_memo[i].key, &pl->gemm_memo[i].decision, line, sizeof line);
            if (n > 0 && (size_t)n < sizeof line) clg_bytes_put(out, line, (size_t)n);
        }
        for (int i = 0; i < g->n_nodes; i++) {
            const clg_node *n = &g->nodes[i];
            if (n->op != CLG_OP_ATTENTION || n->dead) continue;
            clg_dev_tensor stack[CLG_PLAN_INPUTS_STACK];
            clg_dev_tensor *in = clg_plan_inputs((clg_plan *)pl, n, stack);
            if (!in) return CLG_ERR_OUT_OF_MEMORY;
            char line[80];
            snprintf(line, sizeof line, "attention %016llx %d\n",
                     (unsigned long long)clg_attention_key(n, in, &pl->values[i]), pl->decisions[i].variant);
            clg_plan_inputs_free((clg_plan *)pl, in, stack);
            clg_bytes_str(out, line);
        }
    }
    return CLG_OK;
}

/* PROG: each program the plans use, once. */
static clg_status program_section(clg_context *ctx, const clg_plan *const *plans, int n_plans, clg_bytes *out,
                                  char *err, size_t err_size)
{
    bool pocl = strstr(ctx->info.platform, "Portable Computing Language") != NULL;
    clg_bytes_u32(out, 0); /* the count, set below */
    uint32_t written = 0;
    for (int p = 0; p < n_plans; p++) {
        for (int i = 0; i < plans[p]->n_programs; i++) {
            cl_program prog = plans[p]->programs[i];
            bool seen = false;
            for (int q = 0; q <= p && !seen; q++)
                for (int j = 0; j < (q < p ? plans[q]->n_programs : i) && !seen; j++) seen = plans[q]->programs[j] == prog;
            if (seen) continue;
            clg_program_entry e;
            if (!clg_program_entry_of(ctx, prog, &e) || !e.file || !e.source || !e.options) {
                snprintf(err, err_size, "a program of the model has no recorded source (out of memory when it was built)");
                return CLG_ERR_OUT_OF_MEMORY;
            }
            size_t len = 0;
            /* PoCL: see clg_program_binary_fresh. Without this a ResNet-18
             * bundle's first run spent minutes compiling work-group
             * functions; elsewhere a build from source would only cost
             * time (Intel's runtime has no compiler cache). */
            unsigned char *bin = pocl ? clg_program_binary_fresh(ctx, e.source, e.options, &len) : NULL;
            if (!bin) bin = clg_program_binary(ctx, prog, &len);
            clg_bundle_put_program(out, e.file, e.options, e.source, bin, bin ? len : 0);
            clg_mem_free(&ctx->allocator, bin);
            written++;
        }
    }
    if (!out->oom)
        for (int i = 0; i < 4; i++) out->data[i] = (unsigned char)(written >> (8 * i));
    return CLG_OK;
}

static clg_status write_file(const char *path, const unsigned char *data, size_t len, char *err, size_t err_size)
{
    char tmp[4200];
    if (strlen(path) + 64 > sizeof tmp) {
        snprintf(err, err_size, "the path %s is too long", path);
        return CLG_ERR_IO;
    }
    int fd = clg_open_temp_beside(path, tmp, sizeof tmp);
    if (fd < 0) {
        snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        return CLG_ERR_IO;
    }
    bool ok = clg_write_all(fd, data, len);
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(e));
        return CLG_ERR_IO;
    }
    return CLG_OK;
}

clg_status clg_model_save_bundle(clg_model *m, const char *path)
{
    if (!m) return CLG_ERR_INVALID_ARGUMENT;
    size_t err_size;
    char *err = clg_model_errbuf(m, &err_size);
    if (!clg_model_graph(m)) {
        snprintf(err, err_size, "the model was not created");
        return CLG_ERR_INVALID_ARGUMENT;
    }
    if (!path || !*path) {
        snprintf(err, err_size, "path is NULL or empty");
        return CLG_ERR_INVALID_ARGUMENT;
    }
    clg_context *ctx = clg_model_context(m);
    clg_graph *g = (clg_graph *)clg_model_graph(m);
    const clg_plan *plans[MAX_PLANS];
    int n_plans = clg_model_plans(m, plans, MAX_PLANS);
    clg_bytes sec[CLG_SEC_COUNT];
    for (int i = 0; i < CLG_SEC_COUNT; i++) sec[i] = (clg_bytes){&ctx->allocator, NULL, 0, 0, false};
    char version[64], identity[3 * 128 + 64 + 8];
    clg_program_identity(ctx, identity, sizeof identity);
    /* the precision too: loaded, the model converts the fp32 weights the
     * bundle holds and plans at it again, and its programs (built with the
     * precision's options) are the ones it asks for */
    clg_bundle_put_info(&sec[CLG_SEC_INFO], version_string(version, sizeof version), identity,
                        clg_model_precision(m));
    err[0] = '\0';
    clg_status s = graph_sections(g, &sec[CLG_SEC_GRAPH], &sec[CLG_SEC_WEIGHTS]);
    if (s && s != CLG_ERR_OUT_OF_MEMORY) snprintf(err, err_size, "%s", clg_graph_errmsg(g));
    if (!s) s = choice_section(m, plans, n_plans, &sec[CLG_SEC_CHOICES]);
    if (!s) s = program_section(ctx, plans, n_plans, &sec[CLG_SEC_PROGRAMS], err, err_size);
    for (int i = 0; i < CLG_SEC_COUNT && !s; i++)
        if (sec[i].oom) s = CLG_ERR_OUT_OF_MEMORY;
    unsigned char *file = NULL;
    size_t len = 0;
    if (!s) {
        clg_bundle_out out;
        for (int i = 0; i < CLG_SEC_COUNT; i++) {
            out.data[i] = sec[i].data;
            out.size[i] = sec[i].len;
        }
        s = clg_bundle_serialize(&ctx->allocator, &out, &file, &len);
    }
    if (!s) s = write_file(path, file, len, err, err_size);
    if (s == CLG_ERR_OUT_OF_MEMORY && !err[0]) snprintf(err, err_size, "out of memory writing the bundle %s", path);
    clg_mem_free(&ctx->allocator, file);
    for (int i = 0; i < CLG_SEC_COUNT; i++) clg_mem_free(&ctx->allocator, sec[i].data);
    return s;
}

/* ---------------------------------------------------------------- loading */

/* The bundle's choices after any the context holds already. */
static clg_status preset_choices(clg_context *ctx, const char *choices)
{
    clg_status s = CLG_OK;
    pthread_mutex_lock(&ctx->lock);
    size_t old = ctx->preset_choices ? strlen(ctx->preset_choices) : 0, add = strlen(choices);
    char *p = clg_mem_realloc(&ctx->allocator, ctx->preset_choices, old + add + 2);
    if (!p) {
        s = CLG_ERR_OUT_OF_MEMORY;
    } else {
        memcpy(p + old, choices, add);
        p[old + add] = '\n';
        p[old + add + 1] = '\0';
        ctx->preset_choices = p;
    }
    pthread_mutex_unlock(&ctx->lock);
    return s;
}

static clg_status load(clg_model *m, clg_context *ctx, const void *data, size_t len, char *note, size_t note_size)
{
    size_t err_size;
    char *err = clg_model_errbuf(m, &err_size);
    clg_bundle b;
    clg_status s = clg_bundle_parse(&ctx->allocator, data, len, &b, err, err_size);
    if (s) return s;
    clg_graph *g = NULL;
    if ((s = clg_graph_create(&g, ctx->allocator.fn, ctx->allocator.user))) {
        snprintf(err, err_size, "out of memory reading the bundle");
        goto done;
    }
    if ((s = clg_bundle_graph(&b, g, err, err_size))) goto done;
    /* before its programs: an fp16 bundle's half-arithmetic programs do not
     * build without the extension */
    if (b.precision == CLG_PRECISION_FP16 && !ctx->info.fp16) {
        snprintf(err, err_size, "the bundle's model runs at precision fp16, which needs half arithmetic, and device "
                 "%s does not report the cl_khr_fp16 extension", ctx->info.name);
        s = CLG_ERR_UNSUPPORTED;
        goto done;
    }

    char version[64], identity[3 * 128 + 64 + 8];
    version_string(version, sizeof version);
    clg_program_identity(ctx, identity, sizeof identity);
    bool same_version = strcmp(b.version, version) == 0, same_device = strcmp(b.identity, identity) == 0;
    int rebuilt = 0;
    if (b.n_programs > 0) {
        /* all at once: taking a binary costs PoCL tens of milliseconds */
        clg_preset_req *reqs = clg_mem_calloc(&ctx->allocator, (size_t)b.n_programs, sizeof *reqs);
        if (!reqs) {
            s = CLG_ERR_OUT_OF_MEMORY;
            snprintf(err, err_size, "out of memory reading the bundle");
            goto done;
        }
        for (int i = 0; i < b.n_programs; i++) {
            const clg_bundle_program *p = &b.programs[i];
            reqs[i] = (clg_preset_req){p->file, p->source, p->options, same_version && same_device ? p->binary : NULL,
                                       p->binary_len, false, false, CL_SUCCESS};
        }
        s = clg_programs_preset(ctx, reqs, b.n_programs);
        for (int i = 0; i < b.n_programs; i++) rebuilt += reqs[i].rebuilt;
        clg_mem_free(&ctx->allocator, reqs);
        if (s) goto done;
    }
    if (!same_version || !same_device) {
        char was[sizeof b.identity], *c;
        snprintf(was, sizeof was, "%s", b.identity);
        while ((c = strchr(was, '\n'))) *c = '/';
        /* cut to fit: the note is for people */
        int n = snprintf(note, note_size,
                 "bundle built by clgraph %.60s for %.600s; this is clgraph %.60s on another %s: %d of its %d programs "
                 "rebuilt from the sources it carries",
                 b.version, was, version, !same_device ? "device or driver" : "version", rebuilt, b.n_programs);
        (void)n;
    } else if (rebuilt) {
        snprintf(note, note_size, "%d of the bundle's %d program binaries were refused by the driver and rebuilt "
                 "from the sources it carries", rebuilt, b.n_programs);
    }
    if ((s = preset_choices(ctx, b.choices))) {
        snprintf(err, err_size, "out of memory reading the bundle");
        goto done;
    }
    clg_precision precision = b.precision;
    clg_bundle_free(&b);
    /* The model takes g, also when it fails. */
    return clg_model_build_from(m, g, precision);
done:
    clg_graph_destroy(g);
    clg_bundle_free(&b);
    return s;
}

clg_status clg_model_load_bundle_memory(clg_model **out, clg_context *ctx, const void *data, size_t len)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return CLG_ERR_INVALID_ARGUMENT;
    clg_model *m = clg_model_alloc(ctx);
    if (!m) return CLG_ERR_OUT_OF_MEMORY;
    *out = m;
    size_t err_size;
    char *err = clg_model_errbuf(m, &err_size);
    if (!ctx->cl || !ctx->device) {
        snprintf(err, err_size, "the context has no OpenCL device");
        return CLG_ERR_INVALID_ARGUMENT;
    }
    char note[1024] = "";
    clg_error_capture capture;
    clg_error_capture_begin(&capture, ctx, err, err_size);
    clg_status s = load(m, ctx, data, len, note, sizeof note);
    clg_error_capture_end(&capture);
    clg_model_set_note(m, note);
    return s;
}

/* Names the file in a failed load's message. */
static void name_file(clg_model *m, const char *path)
{
    size_t n;
    char *msg = clg_model_errbuf(m, &n), copy[1024];
    snprintf(copy, sizeof copy, "%s", msg);
    snprintf(msg, n, "%s: %s", path, copy);
}

clg_status clg_model_load_bundle(clg_model **out, clg_context *ctx, const char *path)
{
    if (!out) return CLG_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return CLG_ERR_INVALID_ARGUMENT;
    if (!path) {
        clg_model *m = clg_model_alloc(ctx);
        if (!m) return CLG_ERR_OUT_OF_MEMORY;
        *out = m;
        size_t n;
        char *msg = clg_model_errbuf(m, &n);
        snprintf(msg, n, "path is NULL");
        return CLG_ERR_INVALID_ARGUMENT;
    }
    /* A regular file is mapped, not copied (a ResNet-18 bundle is ~48 MB:
     * reading it into a growing buffer copied it several times); the
     * mapping is read once, by the parser, and released before return. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
#ifdef MAP_POPULATE
        /* every page is read: fault them in at once, not one by one */
        const int flags = MAP_PRIVATE | MAP_POPULATE;
#else
        const int flags = MAP_PRIVATE;
#endif
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, flags, fd, 0);
        if (map != MAP_FAILED) {
            close(fd);
            clg_status s = clg_model_load_bundle_memory(out, ctx, map, (size_t)st.st_size);
            munmap(map, (size_t)st.st_size);
            if (s && *out) name_file(*out, path);
            return s;
        }
    }
    if (fd >= 0) close(fd);
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    size_t len = 0, cap = 0;
    clg_status s = CLG_OK;
    int e = 0;
    if (!f) {
        s = CLG_ERR_IO;
        e = errno;
    }
    while (!s) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 1 << 20;
            unsigned char *p = clg_mem_realloc(&ctx->allocator, data, ncap);
            if (!p) {
                s = CLG_ERR_OUT_OF_MEMORY;
                break;
            }
            data = p;
            cap = ncap;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                s = CLG_ERR_IO;
                e = errno;
            }
            break;
        }
    }
    if (f) fclose(f);
    if (!s) {
        s = clg_model_load_bundle_memory(out, ctx, data, len);
        if (s && *out) name_file(*out, path);
    } else {
        clg_model *m = clg_model_alloc(ctx);
        if (m) {
            *out = m;
            size_t n;
            char *msg = clg_model_errbuf(m, &n);
            if (s == CLG_ERR_IO) snprintf(msg, n, "cannot read %s: %s", path, strerror(e));
            else snprintf(msg, n, "out of memory reading %s", path);
        }
    }
    clg_mem_free(&ctx->allocator, data);
    return s;
}
