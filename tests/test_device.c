/* Devices and contexts (runtime/cl/device.c, runtime/cl/context.c, runtime/cl/cl_error.c):
 * device choice on synthetic device lists, then the real machine's devices,
 * contexts by spec and by CLGRAPH_DEVICE, borrowed contexts and allocation
 * failures. Tests that need a device skip when the machine has none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime.h"

/* ------------------------------------------------------------ synthetic lists */

static clg_device_info fake(int index, int p, int d, const char *platform, const char *name,
                            const char *vendor, clg_device_type type, int unified)
{
    clg_device_info info;
    memset(&info, 0, sizeof info);
    info.index = index;
    info.platform_index = p;
    info.device_index = d;
    snprintf(info.platform, sizeof info.platform, "%s", platform);
    snprintf(info.name, sizeof info.name, "%s", name);
    snprintf(info.vendor, sizeof info.vendor, "%s", vendor);
    info.type = type;
    info.unified_memory = unified;
    return info;
}

/* An Intel CPU platform listed before an NVIDIA GPU and an integrated GPU. */
static void three_devices(clg_device_info d[3])
{
    d[0] = fake(0, 0, 0, "Intel(R) OpenCL", "Intel(R) Xeon(R) Gold 6230", "Intel(R) Corporation",
                CLG_DEVICE_CPU, 1);
    d[1] = fake(1, 0, 1, "Intel(R) OpenCL", "Intel(R) UHD Graphics 630", "Intel(R) Corporation",
                CLG_DEVICE_GPU, 1);
    d[2] = fake(2, 1, 0, "NVIDIA CUDA", "NVIDIA GeForce RTX 3090", "NVIDIA Corporation",
                CLG_DEVICE_GPU, 0);
}

static void test_default_prefers_discrete_gpu(void **state)
{
    (void)state;
    clg_device_info d[3];
    three_devices(d);
    assert_int_equal(clg_device_default(d, 3), 2);
    /* Without the discrete GPU, the integrated one beats the CPU. */
    assert_int_equal(clg_device_default(d, 2), 1);
    assert_int_equal(clg_device_default(d, 1), 0);
    assert_int_equal(clg_device_default(d, 0), -1);
    assert_int_equal(clg_device_default(NULL, 0), -1);
    /* Only an accelerator: it is the first device, so it is the default. */
    clg_device_info acc = fake(0, 0, 0, "FPGA SDK", "Some FPGA", "ACME", CLG_DEVICE_ACCELERATOR, 0);
    assert_int_equal(clg_device_default(&acc, 1), 0);
}

static int pick(const clg_device_info *d, int n, const char *spec)
{
    char err[2048];
    int i = clg_device_pick(d, n, spec, err, sizeof err);
    if (i >= 0) assert_string_equal(err, "");
    return i;
}

static void test_pick_spec_forms(void **state)
{
    (void)state;
    clg_device_info d[3];
    three_devices(d);
    assert_int_equal(pick(d, 3, "gpu"), 2);
    assert_int_equal(pick(d, 3, "GPU"), 2);
    assert_int_equal(pick(d, 3, "cpu"), 0);
    assert_int_equal(pick(d, 3, "  Cpu \t"), 0);
    assert_int_equal(pick(d, 3, "1"), 1);
    assert_int_equal(pick(d, 3, "2"), 2);
    assert_int_equal(pick(d, 3, "0:1"), 1);
    assert_int_equal(pick(d, 3, "1:0"), 2);
    assert_int_equal(pick(d, 3, " 1:0 "), 2);
    assert_int_equal(pick(d, 3, "nvidia"), 2); /* device name and platform */
    assert_int_equal(pick(d, 3, "RTX"), 2);
    assert_int_equal(pick(d, 3, "uhd"), 1);
    assert_int_equal(pick(d, 3, "INTEL"), 0);       /* first match wins */
    assert_int_equal(pick(d, 3, "cuda"), 2);        /* platform name only */
    assert_int_equal(pick(d, 3, "corporation"), 0); /* vendor */
    assert_int_equal(pick(d, 3, ""), 2);            /* empty: the default */
    assert_int_equal(pick(d, 3, "   "), 2);
    assert_int_equal(pick(d, 3, NULL), 2);
    /* "gpu" prefers a discrete GPU even when an integrated one comes first. */
    assert_int_equal(pick(d, 2, "gpu"), 1);
}

static void test_pick_pocl_names(void **state)
{
    (void)state;
    clg_device_info d[1] = {fake(0, 0, 0, "Portable Computing Language",
                                 "pthread-skylake-avx512-AMD EPYC", "AuthenticAMD", CLG_DEVICE_CPU,
                                 1)};
    assert_int_equal(pick(d, 1, "PTHREAD"), 0);
    assert_int_equal(pick(d, 1, "portable"), 0);
    assert_int_equal(pick(d, 1, "authenticamd"), 0);
    assert_int_equal(pick(d, 1, "0"), 0);
    assert_int_equal(pick(d, 1, "0:0"), 0);
    assert_int_equal(pick(d, 1, "cpu"), 0);
}

static void expect_no_match(const clg_device_info *d, int n, const char *spec, const char *why)
{
    char err[2048];
    assert_int_equal(clg_device_pick(d, n, spec, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "no OpenCL device matches '%s'", spec);
    if (!strstr(err, want)) fail_msg("message '%s' lacks '%s'", err, want);
    if (why && !strstr(err, why)) fail_msg("message '%s' lacks '%s'", err, why);
}

static void test_pick_errors_list_devices(void **state)
{
    (void)state;
    clg_device_info d[3];
    three_devices(d);
    clg_device_info pocl =
        fake(0, 0, 0, "Portable Computing Language", "pthread-skylake-avx512-AMD EPYC",
             "AuthenticAMD", CLG_DEVICE_CPU, 1);
    expect_no_match(d, 3, "foo",
                    "available: 0: Intel(R) Xeon(R) Gold 6230 (Intel(R) OpenCL, CPU, 0:0);");
    expect_no_match(d, 3, "foo", "2: NVIDIA GeForce RTX 3090 (NVIDIA CUDA, GPU, 1:0)");
    expect_no_match(d, 3, "3", "available:");
    expect_no_match(d, 3, "0:2", "available:");
    expect_no_match(d, 3, "2:0", "available:");
    expect_no_match(d, 3, "accelerator", "available:");
    expect_no_match(&pocl, 1, "gpu",
                    "0: pthread-skylake-avx512-AMD EPYC (Portable Computing Language, CPU, 0:0)");
    expect_no_match(&pocl, 1, "nvidia", "available:");
    expect_no_match(&pocl, 1, "0:1", "available:");
    expect_no_match(&pocl, 1, "99999999999", "available:"); /* too long to be an index */

    /* An empty list says what is missing and where a CPU device comes from. */
    char err[1024];
    assert_int_equal(clg_device_pick(NULL, 0, "gpu", err, sizeof err), -1);
    assert_non_null(strstr(err, "no OpenCL platform or device was found"));
    assert_non_null(strstr(err, "pocl-opencl-icd"));
    assert_int_equal(clg_device_pick(d, 0, "", err, sizeof err), -1);
    assert_non_null(strstr(err, "no OpenCL device was found"));
    assert_non_null(strstr(err, "pocl-opencl-icd"));

    /* A short buffer truncates; a NULL one is allowed. */
    char tiny[8];
    assert_int_equal(clg_device_pick(d, 3, "foo", tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_int_equal(clg_device_pick(d, 3, "foo", NULL, 0), -1);
}

static void test_error_names(void **state)
{
    (void)state;
    assert_string_equal(clg_cl_error_name(CL_SUCCESS), "CL_SUCCESS");
    assert_string_equal(clg_cl_error_name(-5), "CL_OUT_OF_RESOURCES");
    assert_string_equal(clg_cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
    assert_string_equal(clg_cl_error_name(-68), "CL_INVALID_DEVICE_PARTITION_COUNT");
    assert_string_equal(clg_cl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(clg_cl_error_name(-2044), "CLBlastNoDoublePrecision");
    assert_string_equal(clg_cl_error_name(-2046), "CLBlastInvalidLocalMemUsage");
    assert_string_equal(clg_cl_error_name(-1017), "CLBlastInvalidDimension");
    assert_string_equal(clg_cl_error_name(-12345), "unknown OpenCL error");
    /* Every OpenCL 1.2 code has a name. */
    for (int code = 0; code >= -19; code--)
        assert_string_not_equal(clg_cl_error_name(code), "unknown OpenCL error");
    for (int code = -30; code >= -68; code--)
        assert_string_not_equal(clg_cl_error_name(code), "unknown OpenCL error");

    assert_int_equal(clg_cl_status(CL_SUCCESS), CLG_OK);
    assert_int_equal(clg_cl_status(CL_MEM_OBJECT_ALLOCATION_FAILURE), CLG_ERR_OUT_OF_DEVICE_MEMORY);
    assert_int_equal(clg_cl_status(CL_OUT_OF_RESOURCES), CLG_ERR_OUT_OF_DEVICE_MEMORY);
    assert_int_equal(clg_cl_status(CL_INVALID_BUFFER_SIZE), CLG_ERR_OUT_OF_DEVICE_MEMORY);
    assert_int_equal(clg_cl_status(CL_BUILD_PROGRAM_FAILURE), CLG_ERR_BUILD);
    assert_int_equal(clg_cl_status(CL_INVALID_KERNEL_ARGS), CLG_ERR_OPENCL);
    assert_int_equal(clg_cl_status(-2044), CLG_ERR_OPENCL);
}

/* clg_ctx_fail / clg_ctx_cl_fail on a context that never opened a device. */
static void test_error_messages(void **state)
{
    (void)state;
    clg_context *ctx = NULL;
    /* An unknown flag fails before any device is touched. */
    assert_int_equal(clg_context_create(&ctx, "cpu", 0x100, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(ctx);
    assert_non_null(strstr(clg_context_errmsg(ctx), "flags"));
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_ERR_INVALID_ARGUMENT);

    assert_int_equal(clg_ctx_cl_fail(ctx, CL_INVALID_WORK_GROUP_SIZE, "clEnqueueNDRangeKernel",
                                     "node %s (%s)", "d1", "Gemm"),
                     CLG_ERR_OPENCL);
    assert_string_equal(clg_context_errmsg(ctx), "node d1 (Gemm): clEnqueueNDRangeKernel failed: "
                                                 "CL_INVALID_WORK_GROUP_SIZE (-54)");
    assert_int_equal(clg_ctx_cl_fail(ctx, CL_MEM_OBJECT_ALLOCATION_FAILURE, "clCreateBuffer", NULL),
                     CLG_ERR_OUT_OF_DEVICE_MEMORY);
    assert_string_equal(clg_context_errmsg(ctx),
                        "clCreateBuffer failed: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)");
    assert_int_equal(clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED, "op %s", "Foo"), CLG_ERR_UNSUPPORTED);
    assert_string_equal(clg_context_errmsg(ctx), "op Foo");
    /* The message may quote itself, to add context to an earlier error. */
    assert_int_equal(clg_ctx_fail(ctx, CLG_ERR_UNSUPPORTED, "node x: %s", ctx->errmsg),
                     CLG_ERR_UNSUPPORTED);
    assert_string_equal(clg_context_errmsg(ctx), "node x: op Foo");
    assert_int_equal(clg_ctx_fail(NULL, CLG_ERR_BUILD, "x"), CLG_ERR_BUILD);
    assert_int_equal(clg_ctx_cl_fail(NULL, CL_BUILD_PROGRAM_FAILURE, "clBuildProgram", NULL),
                     CLG_ERR_BUILD);
    clg_context_destroy(ctx);

    assert_int_equal(clg_context_create(NULL, "cpu", 0, NULL, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(clg_context_errmsg(NULL));
    assert_int_equal(clg_context_device(NULL, &info), CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(NULL);
}

/* ------------------------------------------------------------ the real machine */

static int device_count(void)
{
    int n = 0;
    assert_int_equal(clg_devices_list(NULL, 0, &n), CLG_OK);
    return n;
}

#ifndef CL_DEVICE_HALF_FP_CONFIG
#define CL_DEVICE_HALF_FP_CONFIG 0x1033 /* cl_khr_fp16 */
#endif

/* Whether the device at (platform p, device d) describes half-precision
 * arithmetic (CL_DEVICE_HALF_FP_CONFIG non-zero): a second witness of
 * cl_khr_fp16 besides the extension string that clgraph reads. */
static int half_config(int p, int d)
{
    cl_platform_id platforms[16];
    cl_device_id devices[16];
    cl_uint np = 0, nd = 0;
    if (clGetPlatformIDs(16, platforms, &np) != CL_SUCCESS || (cl_uint)p >= np) return -1;
    if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 16, devices, &nd) != CL_SUCCESS || (cl_uint)d >= nd)
        return -1;
    cl_device_fp_config config = 0;
    if (clGetDeviceInfo(devices[d], CL_DEVICE_HALF_FP_CONFIG, sizeof config, &config, NULL) != CL_SUCCESS) return 0;
    return config != 0;
}

static void test_devices_list(void **state)
{
    (void)state;
    int n = 0;
    assert_int_equal(clg_devices_list(NULL, 0, NULL), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_devices_list(NULL, 1, &n), CLG_ERR_INVALID_ARGUMENT);
    assert_int_equal(clg_devices_list(NULL, 0, &n), CLG_OK);
    if (n == 0) skip();

    clg_device_info *list = calloc((size_t)n, sizeof *list);
    assert_non_null(list);
    int again = 0;
    assert_int_equal(clg_devices_list(list, n, &again), CLG_OK);
    assert_int_equal(again, n);
    int defaults = 0;
    for (int i = 0; i < n; i++) {
        const clg_device_info *d = &list[i];
        assert_int_equal(d->index, i);
        assert_true(d->platform_index >= 0 && d->device_index >= 0);
        assert_true(strlen(d->platform) > 0);
        assert_true(strlen(d->name) > 0);
        assert_true(strlen(d->driver) > 0);
        assert_non_null(strstr(d->c_version, "OpenCL C"));
        assert_true(d->type == CLG_DEVICE_CPU || d->type == CLG_DEVICE_GPU ||
                    d->type == CLG_DEVICE_ACCELERATOR || d->type == CLG_DEVICE_OTHER);
        assert_true(d->compute_units > 0);
        assert_true(d->global_mem_bytes > 0);
        assert_true(d->local_mem_bytes > 0);
        assert_true(d->max_alloc_bytes > 0 && d->max_alloc_bytes <= d->global_mem_bytes);
        assert_true(d->fp16 == 0 || d->fp16 == 1);
        /* `clgraph devices` prints this: Intel's CPU runtime has fp16, PoCL's
         * CPU driver (3.1) does not; both must agree with the device's own
         * half-precision configuration. */
        int half = half_config(d->platform_index, d->device_index);
        if (half >= 0 && d->fp16 != half)
            fail_msg("%s: fp16 %d, but CL_DEVICE_HALF_FP_CONFIG says %d", d->name, d->fp16, half);
        assert_true(d->fp64 == 0 || d->fp64 == 1);
        if (d->type == CLG_DEVICE_CPU) assert_int_equal(d->unified_memory, 1);
        defaults += d->is_default;
        if (d->is_default) assert_int_equal(i, clg_device_default(list, n));
    }
    assert_int_equal(defaults, 1);

    /* A short array gets the first entries and the full count. */
    clg_device_info one;
    assert_int_equal(clg_devices_list(&one, 1, &again), CLG_OK);
    assert_int_equal(again, n);
    assert_string_equal(one.name, list[0].name);
    free(list);
}

static bool has_cpu_device(void)
{
    int n = device_count();
    clg_device_info list[16];
    assert_int_equal(clg_devices_list(list, 16, &n), CLG_OK);
    for (int i = 0; i < n && i < 16; i++)
        if (list[i].type == CLG_DEVICE_CPU) return true;
    return false;
}

/* Writes and reads back a small buffer on ctx's queue. */
static void use_queue(cl_context cl, cl_command_queue queue)
{
    cl_int err = CL_SUCCESS;
    float in[4] = {1, 2, 3, 4}, out[4] = {0};
    cl_mem buf = clCreateBuffer(cl, CL_MEM_READ_WRITE, sizeof in, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clEnqueueWriteBuffer(queue, buf, CL_FALSE, 0, sizeof in, in, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_int_equal(clEnqueueReadBuffer(queue, buf, CL_TRUE, 0, sizeof out, out, 0, NULL, NULL),
                     CL_SUCCESS);
    assert_memory_equal(in, out, sizeof in);
    clReleaseMemObject(buf);
}

static void test_context_cpu(void **state)
{
    (void)state;
    if (!has_cpu_device()) skip();
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, "cpu", CLG_CONTEXT_PROFILING, NULL, NULL) != CLG_OK)
        fail_msg("%s", clg_context_errmsg(ctx));
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    assert_int_equal(info.type, CLG_DEVICE_CPU);
    assert_true(ctx->profiling);
    assert_false(ctx->borrowed);
    cl_command_queue_properties props = 0;
    assert_int_equal(
        clGetCommandQueueInfo(ctx->queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL),
        CL_SUCCESS);
    assert_true(props & CL_QUEUE_PROFILING_ENABLE);
    assert_false(props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
    use_queue(ctx->cl, ctx->queue);
    assert_string_equal(clg_context_errmsg(ctx), "");
    clg_context_destroy(ctx);
}

/* PoCL's device names start with "pthread"; on other machines any
 * device's name, upper-cased, must select that device. */
static void test_context_by_name(void **state)
{
    (void)state;
    int n = device_count();
    if (n == 0) skip();
    clg_device_info list[16];
    assert_int_equal(clg_devices_list(list, 16, &n), CLG_OK);
    char spec[160];
    snprintf(spec, sizeof spec, "%s", list[0].name);
    if (strstr(spec, "pthread"))
        snprintf(spec, sizeof spec, "PTHREAD");
    else
        for (char *c = spec; *c; c++)
            if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, spec, 0, NULL, NULL) != CLG_OK)
        fail_msg("%s: %s", spec, clg_context_errmsg(ctx));
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    assert_string_equal(info.name, list[0].name);
    assert_false(ctx->profiling);
    clg_context_destroy(ctx);
}

static void test_context_bad_spec(void **state)
{
    (void)state;
    int n = device_count();
    clg_context *ctx = NULL;
    assert_int_equal(clg_context_create(&ctx, "no-such-device-xyz", 0, NULL, NULL),
                     CLG_ERR_DEVICE_NOT_FOUND);
    assert_non_null(ctx);
    const char *msg = clg_context_errmsg(ctx);
    assert_non_null(strstr(msg, "no OpenCL device matches 'no-such-device-xyz'"));
    if (n > 0) {
        clg_device_info first;
        assert_int_equal(clg_devices_list(&first, 1, &n), CLG_OK);
        assert_non_null(strstr(msg, "available:"));
        assert_non_null(strstr(msg, first.name));
    } else {
        assert_non_null(strstr(msg, "pocl-opencl-icd"));
    }
    clg_context_destroy(ctx);

    /* An index past the end is no match either. */
    assert_int_equal(clg_context_create(&ctx, "4096", 0, NULL, NULL), CLG_ERR_DEVICE_NOT_FOUND);
    assert_non_null(strstr(clg_context_errmsg(ctx), "no OpenCL device matches '4096'"));
    clg_context_destroy(ctx);
}

static void test_context_from_env(void **state)
{
    (void)state;
    int n = device_count();
    if (n == 0) skip();
    clg_device_info list[16];
    assert_int_equal(clg_devices_list(list, 16, &n), CLG_OK);
    int last = (n < 16 ? n : 16) - 1;
    char index[16];
    snprintf(index, sizeof index, " %d ", last);
    assert_int_equal(setenv("CLGRAPH_DEVICE", index, 1), 0);
    clg_context *ctx = NULL;
    if (clg_context_create(&ctx, NULL, 0, NULL, NULL) != CLG_OK)
        fail_msg("%s", clg_context_errmsg(ctx));
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    assert_int_equal(info.index, last);
    clg_context_destroy(ctx);

    /* "" also reads the variable; a bad value is reported as coming from it. */
    assert_int_equal(setenv("CLGRAPH_DEVICE", "nothing-like-this", 1), 0);
    assert_int_equal(clg_context_create(&ctx, "", 0, NULL, NULL), CLG_ERR_DEVICE_NOT_FOUND);
    assert_non_null(strstr(clg_context_errmsg(ctx), "CLGRAPH_DEVICE"));
    assert_non_null(strstr(clg_context_errmsg(ctx), "'nothing-like-this'"));
    clg_context_destroy(ctx);
    /* An explicit spec wins over the variable. */
    snprintf(index, sizeof index, "%d", 0);
    assert_int_equal(clg_context_create(&ctx, index, 0, NULL, NULL), CLG_OK);
    clg_context_destroy(ctx);

    /* Without it, the default device. */
    assert_int_equal(unsetenv("CLGRAPH_DEVICE"), 0);
    assert_int_equal(clg_context_create(&ctx, NULL, 0, NULL, NULL), CLG_OK);
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    assert_int_equal(info.is_default, 1);
    assert_int_equal(info.index, clg_device_default(list, n < 16 ? n : 16));
    clg_context_destroy(ctx);
}

static cl_uint ref_count_context(cl_context cl)
{
    cl_uint n = 0;
    assert_int_equal(clGetContextInfo(cl, CL_CONTEXT_REFERENCE_COUNT, sizeof n, &n, NULL),
                     CL_SUCCESS);
    return n;
}

static cl_uint ref_count_queue(cl_command_queue q)
{
    cl_uint n = 0;
    assert_int_equal(clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL),
                     CL_SUCCESS);
    return n;
}

static void test_context_borrowed(void **state)
{
    (void)state;
    if (device_count() == 0) skip();
    const clg_allocator a = {clg_default_alloc, NULL};
    clg_device_handle *handles = NULL;
    clg_device_info *infos = NULL;
    int n = 0;
    assert_int_equal(clg_device_enumerate(&a, &infos, &handles, &n, NULL, 0), CLG_OK);
    assert_true(n > 0);
    cl_int err = CL_SUCCESS;
    cl_context cl = clCreateContext(NULL, 1, &handles[0].device, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_command_queue queue = clCreateCommandQueue(cl, handles[0].device, 0, &err);
    assert_int_equal(err, CL_SUCCESS);
    cl_uint cl_refs = ref_count_context(cl), queue_refs = ref_count_queue(queue);

    clg_context *ctx = NULL;
    if (clg_context_create_borrowed(&ctx, cl, queue, NULL, NULL) != CLG_OK)
        fail_msg("%s", clg_context_errmsg(ctx));
    assert_true(ctx->borrowed);
    assert_false(ctx->profiling);
    assert_ptr_equal(ctx->cl, cl);
    assert_ptr_equal(ctx->queue, queue);
    assert_ptr_equal(ctx->device, handles[0].device);
    assert_ptr_equal(ctx->platform, handles[0].platform);
    clg_device_info info;
    assert_int_equal(clg_context_device(ctx, &info), CLG_OK);
    assert_string_equal(info.name, infos[0].name);
    assert_int_equal(info.index, 0);
    clg_context_destroy(ctx);

    /* The handles are untouched: same reference counts, still usable. */
    assert_int_equal(ref_count_context(cl), cl_refs);
    assert_int_equal(ref_count_queue(queue), queue_refs);
    use_queue(cl, queue);

    /* A profiling queue is seen as one. */
    cl_command_queue prof =
        clCreateCommandQueue(cl, handles[0].device, CL_QUEUE_PROFILING_ENABLE, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clg_context_create_borrowed(&ctx, cl, prof, NULL, NULL), CLG_OK);
    assert_true(ctx->profiling);
    clg_context_destroy(ctx);
    use_queue(cl, prof);
    clReleaseCommandQueue(prof);

    /* A queue of another cl_context, and missing handles, are refused. */
    cl_context other = clCreateContext(NULL, 1, &handles[0].device, NULL, NULL, &err);
    assert_int_equal(err, CL_SUCCESS);
    assert_int_equal(clg_context_create_borrowed(&ctx, other, queue, NULL, NULL),
                     CLG_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(clg_context_errmsg(ctx), "another cl_context"));
    clg_context_destroy(ctx);
    assert_int_equal(clg_context_create_borrowed(&ctx, cl, NULL, NULL, NULL),
                     CLG_ERR_INVALID_ARGUMENT);
    clg_context_destroy(ctx);
    assert_int_equal(clg_context_create_borrowed(NULL, cl, queue, NULL, NULL),
                     CLG_ERR_INVALID_ARGUMENT);
    clReleaseContext(other);

    use_queue(cl, queue);
    clReleaseCommandQueue(queue);
    clReleaseContext(cl);
    clg_mem_free(&a, infos);
    clg_mem_free(&a, handles);
}

/* ------------------------------------------------------------ allocation failures */

/* Fails every allocation after the first `budget`; counts live blocks. */
typedef struct failing_alloc {
    int budget, calls;
    long live;
} failing_alloc;

static void *failing(void *user, void *ptr, size_t old_size, size_t new_size)
{
    failing_alloc *f = user;
    (void)old_size;
    if (new_size == 0) {
        if (ptr) f->live--;
        free(ptr);
        return NULL;
    }
    if (f->calls++ >= f->budget) return NULL;
    void *p = realloc(ptr, new_size);
    if (p && !ptr) f->live++;
    return p;
}

static void test_context_allocation_failures(void **state)
{
    (void)state;
    if (device_count() == 0) skip();
    /* Keep the disk cache out of it: creating directories is not the point. */
    assert_int_equal(setenv("CLGRAPH_CACHE", "0", 1), 0);
    bool succeeded = false;
    for (int budget = 0; budget < 64 && !succeeded; budget++) {
        failing_alloc f = {budget, 0, 0};
        clg_context *ctx = NULL;
        clg_status s = clg_context_create(&ctx, NULL, 0, failing, &f);
        if (s == CLG_OK)
            succeeded = true;
        else
            assert_int_equal(s, CLG_ERR_OUT_OF_MEMORY);
        if (budget == 0)
            assert_null(ctx);
        else
            assert_non_null(ctx);
        clg_context_destroy(ctx);
        assert_int_equal(f.live, 0);
    }
    assert_true(succeeded);
    assert_int_equal(unsetenv("CLGRAPH_CACHE"), 0);
}

int main(void)
{
    /* The tests pick devices themselves. */
    unsetenv("CLGRAPH_DEVICE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_prefers_discrete_gpu),
        cmocka_unit_test(test_pick_spec_forms),
        cmocka_unit_test(test_pick_pocl_names),
        cmocka_unit_test(test_pick_errors_list_devices),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_devices_list),
        cmocka_unit_test(test_context_cpu),
        cmocka_unit_test(test_context_by_name),
        cmocka_unit_test(test_context_bad_spec),
        cmocka_unit_test(test_context_from_env),
        cmocka_unit_test(test_context_borrowed),
        cmocka_unit_test(test_context_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
