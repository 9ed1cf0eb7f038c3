/* LD_PRELOAD shim for tests/test_oclgrind.sh: works around two bugs in
 * Oclgrind 21.10's uninitialised-value checker (--uninitialized) so that
 * what it reports about clgraph's kernels is true. Loaded in front of
 * liboclgrind-rt.so; forwards to it with dlsym(RTLD_NEXT).
 *
 * 1. A host write (clEnqueueWriteBuffer, FillBuffer, CopyBuffer, or a
 *    map for writing) at a non-zero offset marks the WHOLE buffer
 *    uninitialised (and a fill, which Oclgrind performs as one host store
 *    per pattern, always does): Uninitialized::hostMemoryStore reallocates the buffer's
 *    shadow with the size of the write and stores the clean shadow at the
 *    write's offset, which then falls outside it and is dropped
 *    (ShadowMemory::allocate / store). clgraph uploads every constant into
 *    one weights buffer and every input into the activation arena at
 *    offsets, so every kernel would read "uninitialised" data.
 *    Here a partial write lands in a temporary buffer written whole (which
 *    Oclgrind tracks correctly) and a copy kernel moves it into place:
 *    stores by a kernel update the shadow of exactly the bytes they write.
 *    Copies between buffers run as the same kernel, so an uninitialised
 *    source stays uninitialised (Oclgrind marks every host copy clean).
 *    A kernel may not write a read-only buffer (Oclgrind reports each
 *    store), so a partial write to one (clgraph's weights) reads the whole
 *    buffer back, patches it and writes it whole: that marks bytes no one
 *    wrote (the padding between constants) initialised, a blind spot left
 *    here rather than losing the check that no kernel writes the weights.
 * 2. The checker ignores deallocation: a new buffer that reuses a freed
 *    buffer's slot inherits its shadow, so never-written memory can read as
 *    initialised (and the other way round). The last release of a buffer
 *    is skipped here, so slots are never reused (a test process is short).
 *
 * 3. Not the checker's, Oclgrind's runtime: its thread_local stack of API
 *    call names is destroyed when exit() starts, before atexit handlers and
 *    library destructors run, and any OpenCL call after that writes into
 *    freed memory (valgrind: "Invalid write of size 8 at clReleaseContext
 *    ... free'd by std::stack<...>::~stack() ... __call_tls_dtors"). CLBlast
 *    releases its cached programs from a static destructor, so every run
 *    that used CLBlast corrupts the heap at exit, and now and then glibc
 *    aborts ("malloc(): unsorted double linked list corrupted"). Here the
 *    releases made while the process exits are skipped (the OS frees it
 *    all): an atexit handler registered at the first clGetPlatformIDs,
 *    after the loader's own, runs before library destructors.
 *
 * With CLG_SHIM_KERNEL_LOG=FILE it also appends the name of every kernel
 * launched to FILE, so the test can tell which kernel families ran.
 *
 * tests/oclgrind/repro_offset_write.c, repro_slot_reuse.c and
 * repro_exit_release.c reproduce them without clgraph; test_oclgrind.sh
 * checks that this shim fixes the first two.
 * Test code only: never part of the library. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef cl_int (*write_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint,
                           const cl_event *, cl_event *);
typedef cl_int (*release_fn)(cl_mem);

static const char *copy_source =
    "__kernel void clg_shim_copy(__global const uchar *src, ulong src_off, __global uchar *dst,\n"
    "                            ulong dst_off)\n"
    "{\n"
    "    const size_t i = get_global_id(0);\n"
    "    dst[dst_off + i] = src[src_off + i];\n"
    "}\n";

#define MAX_CONTEXTS 16
static struct {
    cl_context context;
    cl_kernel kernel;
} kernels[MAX_CONTEXTS];

static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) abort(); /* a test shim without its target cannot do anything useful */
    return f;
}

/* The copy kernel for q's context, built once per context. */
static cl_kernel copy_kernel(cl_command_queue q)
{
    cl_context ctx;
    cl_device_id dev;
    if (clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof ctx, &ctx, NULL) != CL_SUCCESS ||
        clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL) != CL_SUCCESS)
        return NULL;
    int i = 0;
    for (; i < MAX_CONTEXTS && kernels[i].context; i++)
        if (kernels[i].context == ctx) return kernels[i].kernel;
    if (i == MAX_CONTEXTS) return NULL;
    cl_program p = clCreateProgramWithSource(ctx, 1, &copy_source, NULL, NULL);
    if (!p) return NULL;
    if (clBuildProgram(p, 1, &dev, "", NULL, NULL) != CL_SUCCESS) return NULL;
    cl_kernel k = clCreateKernel(p, "clg_shim_copy", NULL);
    if (!k) return NULL;
    kernels[i].context = ctx;
    kernels[i].kernel = k;
    return k;
}

/* dst[dst_off, dst_off + size) = src[src_off, ...) by the copy kernel. */
static cl_int kernel_copy(cl_command_queue q, cl_mem src, size_t src_off, cl_mem dst, size_t dst_off,
                          size_t size, cl_bool blocking, cl_uint n_wait, const cl_event *wait,
                          cl_event *event)
{
    cl_kernel k = copy_kernel(q);
    if (!k) return CL_OUT_OF_RESOURCES;
    cl_ulong so = src_off, d = dst_off;
    clSetKernelArg(k, 0, sizeof src, &src);
    clSetKernelArg(k, 1, sizeof so, &so);
    clSetKernelArg(k, 2, sizeof dst, &dst);
    clSetKernelArg(k, 3, sizeof d, &d);
    cl_event done = NULL;
    typedef cl_int (*launch_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                                const size_t *, cl_uint, const cl_event *, cl_event *);
    cl_int err = ((launch_fn)next("clEnqueueNDRangeKernel"))(q, k, 1, NULL, &size, NULL, n_wait, wait,
                                                             event || blocking ? &done : NULL);
    if (err != CL_SUCCESS) return err;
    if (blocking) err = clWaitForEvents(1, &done);
    if (event)
        *event = done;
    else if (done)
        clReleaseEvent(done);
    return err;
}

static size_t mem_size(cl_mem m)
{
    size_t s = 0;
    clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof s, &s, NULL);
    return s;
}

/* A buffer holding size bytes from host, written whole (and never
 * released: bug 2). */
static cl_mem staged(cl_command_queue q, const void *host, size_t size, cl_int *err)
{
    cl_context ctx;
    *err = clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof ctx, &ctx, NULL);
    if (*err != CL_SUCCESS) return NULL;
    cl_mem t = clCreateBuffer(ctx, CL_MEM_READ_WRITE, size, NULL, err);
    if (!t) return NULL;
    write_fn write = (write_fn)next("clEnqueueWriteBuffer");
    *err = write(q, t, CL_TRUE, 0, size, host, 0, NULL, NULL);
    return *err == CL_SUCCESS ? t : NULL;
}

static int read_only(cl_mem m)
{
    cl_mem_flags f = 0;
    clGetMemObjectInfo(m, CL_MEM_FLAGS, sizeof f, &f, NULL);
    return (f & CL_MEM_READ_ONLY) != 0;
}

/* A partial write to a read-only buffer: read it all, patch, write it all
 * at offset 0 (blocking). */
static cl_int patch_whole(cl_command_queue q, cl_mem buf, size_t offset, size_t size, const void *ptr,
                          cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    size_t total = mem_size(buf);
    if (offset > total || size > total - offset) return CL_INVALID_VALUE;
    unsigned char *whole = malloc(total);
    if (!whole) return CL_OUT_OF_HOST_MEMORY;
    cl_int err = clEnqueueReadBuffer(q, buf, CL_TRUE, 0, total, whole, n_wait, wait, NULL);
    if (err == CL_SUCCESS) {
        memcpy(whole + offset, ptr, size);
        err = ((write_fn)next("clEnqueueWriteBuffer"))(q, buf, CL_TRUE, 0, total, whole, 0, NULL, event);
    }
    free(whole);
    return err;
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t offset, size_t size,
                            const void *ptr, cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    if (size == 0 || (offset == 0 && size == mem_size(buf)))
        return ((write_fn)next("clEnqueueWriteBuffer"))(q, buf, blocking, offset, size, ptr, n_wait,
                                                        wait, event);
    if (read_only(buf)) return patch_whole(q, buf, offset, size, ptr, n_wait, wait, event);
    cl_int err;
    cl_mem t = staged(q, ptr, size, &err);
    if (!t) return err;
    return kernel_copy(q, t, 0, buf, offset, size, blocking, n_wait, wait, event);
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem buf, const void *pattern, size_t pattern_size,
                           size_t offset, size_t size, cl_uint n_wait, const cl_event *wait,
                           cl_event *event)
{
    typedef cl_int (*fill_fn)(cl_command_queue, cl_mem, const void *, size_t, size_t, size_t, cl_uint,
                              const cl_event *, cl_event *);
    if (size == 0 || pattern_size == 0 || size % pattern_size)
        return ((fill_fn)next("clEnqueueFillBuffer"))(q, buf, pattern, pattern_size, offset, size,
                                                      n_wait, wait, event);
    /* Oclgrind fills pattern by pattern, each a host store (bug 1): even a
     * fill of the whole buffer leaves it uninitialised. Written from the
     * host instead (blocking: the pattern lives on this stack). */
    unsigned char *host = malloc(size);
    if (!host) return CL_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < size; i += pattern_size) memcpy(host + i, pattern, pattern_size);
    cl_int err = clEnqueueWriteBuffer(q, buf, CL_TRUE, offset, size, host, n_wait, wait, event);
    free(host);
    return err;
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_off, size_t dst_off,
                           size_t size, cl_uint n_wait, const cl_event *wait, cl_event *event)
{
    if (size == 0)
        return clEnqueueMarkerWithWaitList(q, n_wait, wait, event);
    if (read_only(dst)) {
        unsigned char *host = malloc(size);
        if (!host) return CL_OUT_OF_HOST_MEMORY;
        cl_int err = clEnqueueReadBuffer(q, src, CL_TRUE, src_off, size, host, n_wait, wait, NULL);
        if (err == CL_SUCCESS) err = patch_whole(q, dst, dst_off, size, host, 0, NULL, event);
        free(host);
        return err;
    }
    return kernel_copy(q, src, src_off, dst, dst_off, size, CL_FALSE, n_wait, wait, event);
}

static volatile int exiting;

static void mark_exiting(void) { exiting = 1; }

cl_int clGetPlatformIDs(cl_uint n, cl_platform_id *platforms, cl_uint *count)
{
    typedef cl_int (*platforms_fn)(cl_uint, cl_platform_id *, cl_uint *);
    static int registered;
    if (!registered) registered = atexit(mark_exiting) == 0; /* bug 3 */
    return ((platforms_fn)next("clGetPlatformIDs"))(n, platforms, count);
}

/* Releases while the process exits go nowhere (bug 3). */
#define RELEASE_AT_EXIT(NAME, TYPE)                                  \
    cl_int NAME(TYPE x)                                               \
    {                                                                 \
        if (exiting) return CL_SUCCESS;                               \
        return ((cl_int(*)(TYPE))next(#NAME))(x);                      \
    }
RELEASE_AT_EXIT(clReleaseProgram, cl_program)
RELEASE_AT_EXIT(clReleaseKernel, cl_kernel)
RELEASE_AT_EXIT(clReleaseContext, cl_context)
RELEASE_AT_EXIT(clReleaseCommandQueue, cl_command_queue)
RELEASE_AT_EXIT(clReleaseEvent, cl_event)

cl_int clReleaseMemObject(cl_mem m)
{
    if (exiting) return CL_SUCCESS;
    cl_uint refs = 0;
    if (clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof refs, &refs, NULL) == CL_SUCCESS &&
        refs == 1)
        return CL_SUCCESS; /* the last reference: keep the slot (bug 2) */
    return ((release_fn)next("clReleaseMemObject"))(m);
}

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                              const size_t *global, const size_t *local, cl_uint n_wait,
                              const cl_event *wait, cl_event *event)
{
    typedef cl_int (*launch_fn)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,
                                const size_t *, cl_uint, const cl_event *, cl_event *);
    const char *log = getenv("CLG_SHIM_KERNEL_LOG");
    char name[256];
    if (log && *log && clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name, name, NULL) == CL_SUCCESS) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "%s\n", name);
            fclose(f);
        }
    }
    return ((launch_fn)next("clEnqueueNDRangeKernel"))(q, k, dims, offset, global, local, n_wait, wait,
                                                       event);
}
