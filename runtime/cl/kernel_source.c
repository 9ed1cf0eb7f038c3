/* The text of kernels/NAME.cl: embedded into the library at build time
 * (cmake/embed_kernels.cmake), or read from a context's kernel directory
 * (clg_context_options.kernel_dir, by default $CLGRAPH_KERNEL_DIR) so
 * kernels can be edited without rebuilding. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

/* Generated: one entry per kernels/NAME.cl, in name order. */
extern const int clg_embedded_kernel_count;
extern const char *const clg_embedded_kernel_names[];
extern const char *const clg_embedded_kernel_texts[];

/* Kernels read from a kernel directory live for the process (runtime.h
 * promises that); the list stays reachable from a global, so leak checkers
 * do not report it. Keyed by the full path: contexts may name different
 * directories. */
typedef struct loaded_kernel {
    struct loaded_kernel *next;
    char *path;
    char *text;
} loaded_kernel;

static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;
static loaded_kernel *loaded;

/* The whole file as a NUL-terminated string (malloc'd: it belongs to the
 * process, not to any context's allocator), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            /* Kernel sources are small; 64 MiB means something is wrong. */
            if (cap > ((size_t)64 << 20)) goto fail;
            size_t new_cap = cap ? 2 * cap : 16384;
            char *t = realloc(text, new_cap);
            if (!t) goto fail;
            text = t;
            cap = new_cap;
        }
        size_t r = fread(text + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    if (ferror(f)) goto fail;
    fclose(f);
    text[len] = '\0';
    return text;
fail:
    free(text);
    fclose(f);
    return NULL;
}

static const char *from_dir(const char *dir, const char *file)
{
    size_t n = strlen(dir) + 1 + strlen(file) + 1;
    char *path = malloc(n);
    if (!path) return NULL;
    snprintf(path, n, "%s/%s", dir, file);

    const char *text = NULL;
    pthread_mutex_lock(&loaded_lock);
    for (loaded_kernel *k = loaded; k; k = k->next) {
        if (strcmp(k->path, path) == 0) {
            text = k->text;
            break;
        }
    }
    if (!text) {
        loaded_kernel *k = malloc(sizeof *k);
        char *t = k ? read_text(path) : NULL;
        if (t) {
            k->path = path;
            k->text = t;
            k->next = loaded;
            loaded = k;
            path = NULL;
            text = t;
        } else {
            free(k);
        }
    }
    pthread_mutex_unlock(&loaded_lock);
    free(path);
    return text;
}

/* A bare file name: never a path that leaves the kernel directory. */
static bool bare_name(const char *file)
{
    return file && *file && !strchr(file, '/') && strcmp(file, ".") != 0 && strcmp(file, "..") != 0;
}

static const char *embedded(const char *file)
{
    for (int i = 0; i < clg_embedded_kernel_count; i++)
        if (strcmp(clg_embedded_kernel_names[i], file) == 0) return clg_embedded_kernel_texts[i];
    return NULL;
}

const char *clg_context_kernel_source(const clg_context *ctx, const char *file)
{
    if (!bare_name(file)) return NULL;
    if (ctx && ctx->kernel_dir) return from_dir(ctx->kernel_dir, file);
    return embedded(file);
}

const char *clg_kernel_source(const char *file)
{
    if (!bare_name(file)) return NULL;
    const char *dir = getenv("CLGRAPH_KERNEL_DIR");
    if (dir && *dir) return from_dir(dir, file);
    return embedded(file);
}

/* Every program starts with these storage macros: a kernel declares its
 * tensors `__global store_t *` and reads and writes them through LOAD and
 * STORE (LOADV/STOREV for n-vectors at a pointer), so one text serves
 * float buffers and, with -DSTORE_HALF, half buffers whose elements are
 * converted to float on load and rounded to nearest even on store.
 * LOAD8(p) reads 8 elements at any element address as a float8: for half
 * buffers one by one, because PoCL 3.1 segfaults in vload_half8 at an
 * address that is not 16-byte aligned (OpenCL asks only 2: a Softmax of
 * rows of 45 halves crashed its work-group function). HSUM8(v) is the sum
 * of a float8 variable's lanes, halves first (the row kernels' reduction).
 * vload_half and vstore_half are core OpenCL 1.2, so half storage needs no
 * extension; -DCOMPUTE_HALF (CLG_PRECISION_FP16) enables cl_khr_fp16 for
 * the kernels with half arithmetic (compute_t). Local and private arrays
 * stay float. plan/emit.c puts it in front of every program a plan builds. */
static const char STORAGE_PRELUDE[] =
    "#ifdef STORE_HALF\n"
    "#define store_t half\n"
    "#define LOAD(p, i) vload_half((i), (p))\n"
    "#define STORE(p, i, v) vstore_half_rte((v), (i), (p))\n"
    "#define CLG_LV_(n) vload_half##n\n"
    "#define CLG_SV_(n) vstore_half##n##_rte\n"
    "#define LOAD8(p) ((float8)(vload_half(0, (p)), vload_half(1, (p)), vload_half(2, (p)), vload_half(3, (p)), "
    "vload_half(4, (p)), vload_half(5, (p)), vload_half(6, (p)), vload_half(7, (p))))\n"
    "#else\n"
    "#define store_t float\n"
    "#define LOAD(p, i) ((p)[i])\n"
    "#define STORE(p, i, v) ((p)[i] = (v))\n"
    "#define CLG_LV_(n) vload##n\n"
    "#define CLG_SV_(n) vstore##n\n"
    "#define LOAD8(p) vload8(0, (p))\n"
    "#endif\n"
    "#define HSUM8(v) ((((v).s0 + (v).s4) + ((v).s1 + (v).s5)) + (((v).s2 + (v).s6) + ((v).s3 + (v).s7)))\n"
    "#define LOADV(n, p) CLG_LV_(n)(0, (p))\n"
    "#define STOREV(n, v, p) CLG_SV_(n)((v), 0, (p))\n"
    "#ifdef COMPUTE_HALF\n"
    "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n"
    "#define compute_t half\n"
    "#else\n"
    "#define compute_t float\n"
    "#endif\n";

const char *clg_kernel_storage_prelude(void) { return STORAGE_PRELUDE; }
