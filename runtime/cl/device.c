/* OpenCL device discovery: every device of every platform, what clgraph
 * knows about each, and the choice of one by a user's spec. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

/* An ICD loader lists at most a handful of platforms and devices; these
 * bounds only keep a broken driver from asking for absurd allocations. */
#define MAX_PLATFORMS 64
#define MAX_DEVICES_PER_PLATFORM 256

/* Extension strings run to a few KiB on GPU drivers. */
#define EXTENSIONS_SIZE 16384

static void copy_truncated(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copies a string property into buf, truncated to fit. A property longer
 * than the scratch space (never seen for names) reads as "". */
static void device_string(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    char tmp[1024];
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, sizeof tmp, tmp, NULL) != CL_SUCCESS) return;
    tmp[sizeof tmp - 1] = '\0';
    copy_truncated(buf, size, tmp);
}

static void platform_string(cl_platform_id p, cl_platform_info what, char *buf, size_t size)
{
    char tmp[1024];
    buf[0] = '\0';
    if (clGetPlatformInfo(p, what, sizeof tmp, tmp, NULL) != CL_SUCCESS) return;
    tmp[sizeof tmp - 1] = '\0';
    copy_truncated(buf, size, tmp);
}

/* Whether the space-separated list has ext as a whole word
 * ("cl_khr_fp16" must not match "cl_khr_fp16_foo"). */
static bool has_extension(const char *list, const char *ext)
{
    size_t n = strlen(ext);
    for (const char *p = list; (p = strstr(p, ext)) != NULL; p += n) {
        bool starts = p == list || p[-1] == ' ';
        bool ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends) return true;
    }
    return false;
}

void clg_device_describe(cl_platform_id p, cl_device_id d, clg_device_info *info)
{
    memset(info, 0, sizeof *info);
    platform_string(p, CL_PLATFORM_NAME, info->platform, sizeof info->platform);
    device_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_string(d, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
    device_string(d, CL_DEVICE_OPENCL_C_VERSION, info->c_version, sizeof info->c_version);

    cl_device_type type = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (type & CL_DEVICE_TYPE_GPU) info->type = CLG_DEVICE_GPU;
    else if (type & CL_DEVICE_TYPE_CPU) info->type = CLG_DEVICE_CPU;
    else if (type & CL_DEVICE_TYPE_ACCELERATOR) info->type = CLG_DEVICE_ACCELERATOR;
    else info->type = CLG_DEVICE_OTHER;

    cl_uint u = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof u, &u, NULL) == CL_SUCCESS)
        info->compute_units = u;
    u = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof u, &u, NULL) == CL_SUCCESS)
        info->clock_mhz = u;
    cl_ulong q = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof q, &q, NULL) == CL_SUCCESS)
        info->global_mem_bytes = q;
    q = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof q, &q, NULL) == CL_SUCCESS)
        info->local_mem_bytes = q;
    q = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof q, &q, NULL) == CL_SUCCESS)
        info->max_alloc_bytes = q;

    char extensions[EXTENSIONS_SIZE];
    size_t ext_len = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_len) != CL_SUCCESS ||
        ext_len > sizeof extensions ||
        clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, sizeof extensions, extensions, NULL) != CL_SUCCESS)
        extensions[0] = '\0';
    extensions[sizeof extensions - 1] = '\0';
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp, &fp, NULL);
    info->fp64 = has_extension(extensions, "cl_khr_fp64") || fp != 0;
    info->fp16 = has_extension(extensions, "cl_khr_fp16");

    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    /* A CPU device's memory is the host's whatever the driver reports. */
    info->unified_memory = unified == CL_TRUE || info->type == CLG_DEVICE_CPU;
}

cl_int clg_device_limits(cl_device_id d, clg_device_info *info, const char **what)
{
    cl_device_type type = 0;
    cl_ulong alloc = 0, local = 0;
    cl_int err;
    if ((err = clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL)) != CL_SUCCESS) {
        *what = "CL_DEVICE_TYPE";
        return err;
    }
    if ((err = clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL)) != CL_SUCCESS) {
        *what = "CL_DEVICE_MAX_MEM_ALLOC_SIZE";
        return err;
    }
    if ((err = clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL)) != CL_SUCCESS) {
        *what = "CL_DEVICE_LOCAL_MEM_SIZE";
        return err;
    }
    info->type = type & CL_DEVICE_TYPE_GPU           ? CLG_DEVICE_GPU
                 : type & CL_DEVICE_TYPE_CPU         ? CLG_DEVICE_CPU
                 : type & CL_DEVICE_TYPE_ACCELERATOR ? CLG_DEVICE_ACCELERATOR
                                                     : CLG_DEVICE_OTHER;
    info->max_alloc_bytes = alloc;
    info->local_mem_bytes = local;
    return CL_SUCCESS;
}

static void set_err(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

clg_status clg_device_enumerate(const clg_allocator *a, clg_device_info **infos,
                                clg_device_handle **handles, int *count, char *err, size_t err_size)
{
    if (infos) *infos = NULL;
    if (handles) *handles = NULL;
    *count = 0;

    cl_uint n_platforms = 0;
    cl_int e = clGetPlatformIDs(0, NULL, &n_platforms);
    /* No ICD installed (the loader says CL_PLATFORM_NOT_FOUND_KHR) is a
     * machine with no devices, not an error. */
    if (e == -1001 || (e == CL_SUCCESS && n_platforms == 0)) return CLG_OK;
    if (e != CL_SUCCESS) {
        set_err(err, err_size, "clGetPlatformIDs failed: %s (%d)", clg_cl_error_name(e), (int)e);
        return CLG_ERR_OPENCL;
    }
    if (n_platforms > MAX_PLATFORMS) n_platforms = MAX_PLATFORMS;

    clg_status s = CLG_OK;
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_device_id *ids = NULL;
    clg_device_info *list = NULL;
    clg_device_handle *hs = NULL;
    int n = 0, cap = 0;

    e = clGetPlatformIDs(n_platforms, platforms, &n_platforms);
    if (e != CL_SUCCESS) {
        set_err(err, err_size, "clGetPlatformIDs failed: %s (%d)", clg_cl_error_name(e), (int)e);
        s = CLG_ERR_OPENCL;
        goto fail;
    }
    ids = clg_mem_calloc(a, MAX_DEVICES_PER_PLATFORM, sizeof *ids);
    if (!ids) goto oom;

    for (cl_uint p = 0; p < n_platforms; p++) {
        cl_uint n_devices = 0;
        /* CL_DEVICE_NOT_FOUND (an empty platform) and a broken driver alike
         * must not hide the devices of the other platforms. */
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, ids,
                           &n_devices) != CL_SUCCESS)
            continue;
        if (n_devices > MAX_DEVICES_PER_PLATFORM) n_devices = MAX_DEVICES_PER_PLATFORM;
        if (n + (int)n_devices > cap) {
            int new_cap = n + (int)n_devices;
            clg_device_info *l = clg_mem_realloc(a, list, (size_t)new_cap * sizeof *l);
            if (!l) goto oom;
            list = l;
            clg_device_handle *h = clg_mem_realloc(a, hs, (size_t)new_cap * sizeof *h);
            if (!h) goto oom;
            hs = h;
            cap = new_cap;
        }
        for (cl_uint d = 0; d < n_devices; d++) {
            clg_device_describe(platforms[p], ids[d], &list[n]);
            list[n].index = n;
            list[n].platform_index = (int)p;
            list[n].device_index = (int)d;
            hs[n].platform = platforms[p];
            hs[n].device = ids[d];
            n++;
        }
    }
    clg_mem_free(a, ids);
    int def = clg_device_default(list, n);
    if (def >= 0) list[def].is_default = 1;
    *count = n;
    if (infos) *infos = list;
    else clg_mem_free(a, list);
    if (handles) *handles = hs;
    else clg_mem_free(a, hs);
    return CLG_OK;

oom:
    set_err(err, err_size, "out of memory listing OpenCL devices");
    s = CLG_ERR_OUT_OF_MEMORY;
fail:
    clg_mem_free(a, ids);
    clg_mem_free(a, list);
    clg_mem_free(a, hs);
    return s;
}

clg_status clg_devices_list(clg_device_info *out, int capacity, int *count)
{
    if (!count || capacity < 0 || (!out && capacity > 0)) return CLG_ERR_INVALID_ARGUMENT;
    *count = 0;
    const clg_allocator a = {clg_default_alloc, NULL};
    clg_device_info *list = NULL;
    int n = 0;
    clg_status s = clg_device_enumerate(&a, &list, NULL, &n, NULL, 0);
    if (s != CLG_OK) return s;
    for (int i = 0; i < n && i < capacity; i++) out[i] = list[i];
    *count = n;
    clg_mem_free(&a, list);
    return CLG_OK;
}

/* ------------------------------------------------------------ choosing one */

int clg_device_default(const clg_device_info *devices, int count)
{
    if (!devices || count <= 0) return -1;
    for (int i = 0; i < count; i++)
        if (devices[i].type == CLG_DEVICE_GPU && !devices[i].unified_memory) return i;
    for (int i = 0; i < count; i++)
        if (devices[i].type == CLG_DEVICE_GPU) return i;
    for (int i = 0; i < count; i++)
        if (devices[i].type == CLG_DEVICE_CPU) return i;
    return 0;
}

static const char *type_name(clg_device_type t)
{
    switch (t) {
    case CLG_DEVICE_CPU: return "CPU";
    case CLG_DEVICE_GPU: return "GPU";
    case CLG_DEVICE_ACCELERATOR: return "accelerator";
    case CLG_DEVICE_OTHER: break;
    }
    return "other";
}

/* Case-insensitive strstr for ASCII names. */
static bool contains_nocase(const char *hay, const char *needle, size_t n)
{
    if (n == 0) return true;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return true;
    }
    return false;
}

static bool equals_nocase(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n != w) return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != word[i]) return false;
    return true;
}

/* Parses a decimal index of at most 6 digits (larger cannot name a device). */
static bool parse_index(const char *s, size_t n, int *out)
{
    if (n == 0 || n > 6) return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "no OpenCL device matches 'foo' (why); available: 0: NAME (PLATFORM, CPU, 0:0); ..." */
static void no_match(const clg_device_info *devices, int count, const char *spec, size_t n,
                     const char *why, char *err, size_t err_size)
{
    if (!err || err_size == 0) return;
    if (count <= 0) {
        snprintf(err, err_size,
                 "no OpenCL device matches '%.*s': no OpenCL platform or device was found "
                 "(is an OpenCL driver installed? on Debian and Ubuntu, pocl-opencl-icd "
                 "provides a CPU device)",
                 (int)n, spec);
        return;
    }
    int w = snprintf(err, err_size, "no OpenCL device matches '%.*s'%s%s%s; available:", (int)n,
                     spec, why ? " (" : "", why ? why : "", why ? ")" : "");
    size_t used = w < 0 ? 0 : (size_t)w;
    for (int i = 0; i < count && used < err_size; i++) {
        const clg_device_info *d = &devices[i];
        w = snprintf(err + used, err_size - used, "%s %d: %s (%s, %s, %d:%d)", i ? ";" : "",
                     d->index, d->name, d->platform, type_name(d->type), d->platform_index,
                     d->device_index);
        if (w < 0) break;
        used += (size_t)w;
    }
}

int clg_device_pick(const clg_device_info *devices, int count, const char *spec, char *err,
                    size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!devices) count = 0;
    if (!spec) spec = "";
    while (isspace((unsigned char)*spec)) spec++;
    size_t n = strlen(spec);
    while (n > 0 && isspace((unsigned char)spec[n - 1])) n--;

    if (count <= 0) {
        if (n == 0)
            set_err(err, err_size,
                    "no OpenCL device was found: no OpenCL platform is installed, or none has a "
                    "device (on Debian and Ubuntu, pocl-opencl-icd provides a CPU device)");
        else
            no_match(devices, count, spec, n, NULL, err, err_size);
        return -1;
    }
    if (n == 0) return clg_device_default(devices, count);

    if (equals_nocase(spec, n, "gpu")) {
        /* A discrete GPU first, as for the default. */
        for (int i = 0; i < count; i++)
            if (devices[i].type == CLG_DEVICE_GPU && !devices[i].unified_memory) return i;
        for (int i = 0; i < count; i++)
            if (devices[i].type == CLG_DEVICE_GPU) return i;
        no_match(devices, count, spec, n, "there is no GPU", err, err_size);
        return -1;
    }
    if (equals_nocase(spec, n, "cpu") || equals_nocase(spec, n, "accelerator")) {
        clg_device_type t = (spec[0] | 0x20) == 'c' ? CLG_DEVICE_CPU : CLG_DEVICE_ACCELERATOR;
        for (int i = 0; i < count; i++)
            if (devices[i].type == t) return i;
        no_match(devices, count, spec, n,
                 t == CLG_DEVICE_CPU ? "there is no CPU device" : "there is no accelerator", err,
                 err_size);
        return -1;
    }

    int index;
    if (parse_index(spec, n, &index)) {
        for (int i = 0; i < count; i++)
            if (devices[i].index == index) return i;
        no_match(devices, count, spec, n, "no device has that index", err, err_size);
        return -1;
    }
    const char *colon = memchr(spec, ':', n);
    int p, d;
    if (colon && parse_index(spec, (size_t)(colon - spec), &p) &&
        parse_index(colon + 1, n - (size_t)(colon - spec) - 1, &d)) {
        for (int i = 0; i < count; i++)
            if (devices[i].platform_index == p && devices[i].device_index == d) return i;
        no_match(devices, count, spec, n, "no device has that platform:device index", err,
                 err_size);
        return -1;
    }

    for (int i = 0; i < count; i++) {
        const clg_device_info *dev = &devices[i];
        if (contains_nocase(dev->name, spec, n) || contains_nocase(dev->platform, spec, n) ||
            contains_nocase(dev->vendor, spec, n))
            return i;
    }
    no_match(devices, count, spec, n, NULL, err, err_size);
    return -1;
}
