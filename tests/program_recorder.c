/* LD_PRELOAD shim for scripts/gpu_compile_check.py: records every OpenCL
 * program a process builds from source, so that each one can be compiled
 * again, offline, for GPU targets this machine does not have.
 *
 * clCreateProgramWithSource remembers the program's source; a successful
 * clBuildProgram then writes it, once per distinct (source, options), to
 * $CLG_RECORD_DIR/<hash>.cl, with the build options in <hash>.opts. Both
 * calls are forwarded unchanged (dlsym(RTLD_NEXT)), so the process runs as
 * it would without the shim. Programs built from binaries (clgraph's
 * program cache) are not seen: run with CLGRAPH_CACHE=0, or with an empty
 * cache directory, to record everything.
 *
 * Test code only: never part of the library. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef cl_program (*create_fn)(cl_context, cl_uint, const char **, const size_t *, cl_int *);
typedef cl_int (*build_fn)(cl_program, cl_uint, const cl_device_id *, const char *,
                           void(CL_CALLBACK *)(cl_program, void *), void *);

static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) abort(); /* a test shim without its target cannot do anything useful */
    return f;
}

/* Sources of the programs created so far, by program handle. A released
 * program's handle may be reused by a new one, which then replaces it. */
#define MAX_PROGRAMS 4096
static struct {
    cl_program program;
    char *source;
} programs[MAX_PROGRAMS];
static int n_programs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

cl_program clCreateProgramWithSource(cl_context ctx, cl_uint count, const char **strings,
                                     const size_t *lengths, cl_int *err)
{
    cl_program p = ((create_fn)next("clCreateProgramWithSource"))(ctx, count, strings, lengths, err);
    if (!p) return p;
    size_t total = 0;
    for (cl_uint i = 0; i < count; i++) total += lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
    char *src = malloc(total + 1);
    if (!src) return p;
    size_t at = 0;
    for (cl_uint i = 0; i < count; i++) {
        size_t len = lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
        memcpy(src + at, strings[i], len);
        at += len;
    }
    src[at] = '\0';
    pthread_mutex_lock(&lock);
    int slot = 0;
    while (slot < n_programs && programs[slot].program != p && programs[slot].program) slot++;
    if (slot == n_programs && n_programs < MAX_PROGRAMS) n_programs++;
    if (slot < MAX_PROGRAMS) {
        free(programs[slot].source);
        programs[slot].program = p;
        programs[slot].source = src;
    } else {
        free(src);
    }
    pthread_mutex_unlock(&lock);
    return p;
}

/* A program made any other way may reuse a released program's handle:
 * its build must not be taken for the old source's. */
static void forget(cl_program p)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_programs; i++)
        if (programs[i].program == p) {
            free(programs[i].source);
            programs[i].source = NULL;
            programs[i].program = NULL;
        }
    pthread_mutex_unlock(&lock);
}

typedef cl_program (*binary_fn)(cl_context, cl_uint, const cl_device_id *, const size_t *, const unsigned char **,
                                cl_int *, cl_int *);

cl_program clCreateProgramWithBinary(cl_context ctx, cl_uint n, const cl_device_id *devices, const size_t *lengths,
                                     const unsigned char **binaries, cl_int *status, cl_int *err)
{
    cl_program p = ((binary_fn)next("clCreateProgramWithBinary"))(ctx, n, devices, lengths, binaries, status, err);
    if (p) forget(p);
    return p;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Writes text to path through a temporary file and a rename, so that test
 * processes running side by side never see (or leave) a partial file. */
static void write_file(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    bool ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) remove(tmp);
}

static void record(const char *source, const char *options)
{
    const char *dir = getenv("CLG_RECORD_DIR");
    if (!dir || !*dir) return;
    uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ull, source), "\n--options--\n");
    h = fnv1a(h, options);
    char path[4096];
    snprintf(path, sizeof path, "%s/%016llx.opts", dir, (unsigned long long)h);
    if (access(path, F_OK) == 0) return; /* already recorded */
    snprintf(path, sizeof path, "%s/%016llx.cl", dir, (unsigned long long)h);
    write_file(path, source);
    /* The .opts file last: its presence says the pair is complete. */
    snprintf(path, sizeof path, "%s/%016llx.opts", dir, (unsigned long long)h);
    write_file(path, options);
}

cl_int clBuildProgram(cl_program p, cl_uint n_devices, const cl_device_id *devices, const char *options,
                      void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    cl_int err = ((build_fn)next("clBuildProgram"))(p, n_devices, devices, options, notify, user);
    /* Only programs the device built: the tests build broken ones on purpose. */
    if (err != CL_SUCCESS) return err;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_programs; i++)
        if (programs[i].program == p && programs[i].source) {
            record(programs[i].source, options ? options : "");
            break;
        }
    pthread_mutex_unlock(&lock);
    return err;
}
