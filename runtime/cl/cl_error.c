/* OpenCL and CLBlast error names, their mapping to clg_status, and where
 * a message about a context's work goes: the context's last-error message,
 * or the buffer of the model working on it in this thread. */
#include <stdio.h>
#include <string.h>

#include "runtime.h"

#include <clblast_c.h>

#define NAME(code) \
    case code: return #code;

const char *clg_cl_error_name(cl_int err)
{
    switch (err) {
    /* OpenCL 1.2. CLBlast reuses these values for its own wrappers of the
     * same conditions (CLBlastInvalidValue is CL_INVALID_VALUE), so one name
     * serves both. */
    NAME(CL_SUCCESS)
    NAME(CL_DEVICE_NOT_FOUND)
    NAME(CL_DEVICE_NOT_AVAILABLE)
    NAME(CL_COMPILER_NOT_AVAILABLE)
    NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    NAME(CL_OUT_OF_RESOURCES)
    NAME(CL_OUT_OF_HOST_MEMORY)
    NAME(CL_PROFILING_INFO_NOT_AVAILABLE)
    NAME(CL_MEM_COPY_OVERLAP)
    NAME(CL_IMAGE_FORMAT_MISMATCH)
    NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    NAME(CL_BUILD_PROGRAM_FAILURE)
    NAME(CL_MAP_FAILURE)
    NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    NAME(CL_COMPILE_PROGRAM_FAILURE)
    NAME(CL_LINKER_NOT_AVAILABLE)
    NAME(CL_LINK_PROGRAM_FAILURE)
    NAME(CL_DEVICE_PARTITION_FAILED)
    NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    NAME(CL_INVALID_VALUE)
    NAME(CL_INVALID_DEVICE_TYPE)
    NAME(CL_INVALID_PLATFORM)
    NAME(CL_INVALID_DEVICE)
    NAME(CL_INVALID_CONTEXT)
    NAME(CL_INVALID_QUEUE_PROPERTIES)
    NAME(CL_INVALID_COMMAND_QUEUE)
    NAME(CL_INVALID_HOST_PTR)
    NAME(CL_INVALID_MEM_OBJECT)
    NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    NAME(CL_INVALID_IMAGE_SIZE)
    NAME(CL_INVALID_SAMPLER)
    NAME(CL_INVALID_BINARY)
    NAME(CL_INVALID_BUILD_OPTIONS)
    NAME(CL_INVALID_PROGRAM)
    NAME(CL_INVALID_PROGRAM_EXECUTABLE)
    NAME(CL_INVALID_KERNEL_NAME)
    NAME(CL_INVALID_KERNEL_DEFINITION)
    NAME(CL_INVALID_KERNEL)
    NAME(CL_INVALID_ARG_INDEX)
    NAME(CL_INVALID_ARG_VALUE)
    NAME(CL_INVALID_ARG_SIZE)
    NAME(CL_INVALID_KERNEL_ARGS)
    NAME(CL_INVALID_WORK_DIMENSION)
    NAME(CL_INVALID_WORK_GROUP_SIZE)
    NAME(CL_INVALID_WORK_ITEM_SIZE)
    NAME(CL_INVALID_GLOBAL_OFFSET)
    NAME(CL_INVALID_EVENT_WAIT_LIST)
    NAME(CL_INVALID_EVENT)
    NAME(CL_INVALID_OPERATION)
    NAME(CL_INVALID_GL_OBJECT)
    NAME(CL_INVALID_BUFFER_SIZE)
    NAME(CL_INVALID_MIP_LEVEL)
    NAME(CL_INVALID_GLOBAL_WORK_SIZE)
    NAME(CL_INVALID_PROPERTY)
    NAME(CL_INVALID_IMAGE_DESCRIPTOR)
    NAME(CL_INVALID_COMPILER_OPTIONS)
    NAME(CL_INVALID_LINKER_OPTIONS)
    NAME(CL_INVALID_DEVICE_PARTITION_COUNT)
    /* cl_khr_icd: what the ICD loader returns when no platform is installed. */
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    /* CLBlast's own codes. */
    NAME(CLBlastNotImplemented)
    NAME(CLBlastInvalidMatrixA)
    NAME(CLBlastInvalidMatrixB)
    NAME(CLBlastInvalidMatrixC)
    NAME(CLBlastInvalidVectorX)
    NAME(CLBlastInvalidVectorY)
    NAME(CLBlastInvalidDimension)
    NAME(CLBlastInvalidLeadDimA)
    NAME(CLBlastInvalidLeadDimB)
    NAME(CLBlastInvalidLeadDimC)
    NAME(CLBlastInvalidIncrementX)
    NAME(CLBlastInvalidIncrementY)
    NAME(CLBlastInsufficientMemoryA)
    NAME(CLBlastInsufficientMemoryB)
    NAME(CLBlastInsufficientMemoryC)
    NAME(CLBlastInsufficientMemoryX)
    NAME(CLBlastInsufficientMemoryY)
    NAME(CLBlastInsufficientMemoryTemp)
    NAME(CLBlastInvalidBatchCount)
    NAME(CLBlastInvalidOverrideKernel)
    NAME(CLBlastMissingOverrideParameter)
    NAME(CLBlastInvalidLocalMemUsage)
    NAME(CLBlastNoHalfPrecision)
    NAME(CLBlastNoDoublePrecision)
    NAME(CLBlastInvalidVectorScalar)
    NAME(CLBlastInsufficientMemoryScalar)
    NAME(CLBlastDatabaseError)
    NAME(CLBlastUnknownError)
    NAME(CLBlastUnexpectedError)
    }
    return "unknown OpenCL error";
}

#undef NAME

clg_status clg_cl_status(cl_int err)
{
    switch (err) {
    case CL_SUCCESS:
        return CLG_OK;
    /* The device (or, on CPU devices, the host memory that backs it) ran
     * out, or a buffer is larger than the device allows: the embedder's
     * remedy is the same for all of them, a smaller batch or model. */
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_RESOURCES:
    case CL_OUT_OF_HOST_MEMORY:
    case CL_INVALID_BUFFER_SIZE:
        return CLG_ERR_OUT_OF_DEVICE_MEMORY;
    case CL_BUILD_PROGRAM_FAILURE:
    case CL_COMPILE_PROGRAM_FAILURE:
    case CL_LINK_PROGRAM_FAILURE:
    case CL_INVALID_BUILD_OPTIONS:
        return CLG_ERR_BUILD;
    /* CLBlast's InsufficientMemory* codes are not allocation failures: they
     * say a buffer handed to a routine is too small for the matrix, a bug
     * in the caller, so they stay CLG_ERR_OPENCL with their name. */
    default:
        return CLG_ERR_OPENCL;
    }
}

/* The innermost capture of this thread. Thread-local, so two threads
 * working on models of one context each capture into their own model. */
static _Thread_local clg_error_capture *capture_top;

void clg_error_capture_begin(clg_error_capture *c, const clg_context *ctx, char *buf, size_t size)
{
    c->ctx = ctx;
    c->buf = buf;
    c->size = size;
    c->outer = capture_top;
    capture_top = c;
}

void clg_error_capture_end(clg_error_capture *c) { capture_top = c->outer; }

char *clg_ctx_errbuf(clg_context *ctx, size_t *size)
{
    for (clg_error_capture *c = capture_top; c; c = c->outer)
        if (c->ctx == ctx) {
            *size = c->size;
            return c->buf;
        }
    *size = sizeof ctx->errmsg;
    return ctx->errmsg;
}

/* Stores a formatted message where ctx's messages go now. */
static void set_message(clg_context *ctx, const char *msg)
{
    size_t size;
    char *buf = clg_ctx_errbuf(ctx, &size);
    snprintf(buf, size, "%s", msg);
}

/* Messages are formatted into a scratch buffer first, so an argument may be
 * the current message itself ("node d1 (Gemm): %s", ctx->errmsg). */
clg_status clg_ctx_fail(clg_context *ctx, clg_status s, const char *fmt, ...)
{
    if (!ctx) return s;
    char msg[sizeof ctx->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_message(ctx, msg);
    return s;
}

clg_status clg_ctx_cl_fail(clg_context *ctx, cl_int err, const char *call, const char *what_fmt,
                           ...)
{
    clg_status s = clg_cl_status(err);
    if (s == CLG_OK) s = CLG_ERR_OPENCL; /* the caller has seen a failure */
    if (!ctx) return s;
    char msg[sizeof ctx->errmsg];
    size_t n = 0;
    if (what_fmt && *what_fmt) {
        va_list ap;
        va_start(ap, what_fmt);
        int w = vsnprintf(msg, sizeof msg, what_fmt, ap);
        va_end(ap);
        if (w < 0) w = 0;
        n = (size_t)w < sizeof msg ? (size_t)w : sizeof msg - 1;
        if (n > 0 && n + 2 < sizeof msg) {
            memcpy(msg + n, ": ", 3);
            n += 2;
        }
    }
    snprintf(msg + n, sizeof msg - n, "%s failed: %s (%d)", call ? call : "OpenCL call",
             clg_cl_error_name(err), (int)err);
    set_message(ctx, msg);
    return s;
}
