/* clgraph devices: every OpenCL device on every platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char *type_name(clg_device_type t)
{
    switch (t) {
    case CLG_DEVICE_CPU: return "CPU";
    case CLG_DEVICE_GPU: return "GPU";
    case CLG_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

/* "yes, 2026-11-27 14:02 (quick, 4m 35s; 1024x1024x1024: 21.3 -> 112.0 GFLOP/s)"
 * or "no (why; run ...)". */
static void print_tuning(const clg_device_info *d)
{
    clg_tune_info *t = calloc(1, sizeof *t);
    if (!t || clg_device_tuning(d, t) != CLG_OK) {
        printf("      tuned      unknown (out of memory)\n");
        free(t);
        return;
    }
    if (t->tuned) {
        char when[32] = "?";
        time_t created = (time_t)t->created;
        struct tm tm;
        if (localtime_r(&created, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        printf("      tuned      yes, %s (%s, %.1f min", when, t->level, t->seconds / 60.0);
        if (t->n_shapes > 0)
            printf("; %lldx%lldx%lld: %.1f -> %.1f GFLOP/s", (long long)t->shapes[0].m,
                   (long long)t->shapes[0].n, (long long)t->shapes[0].k, t->shapes[0].before_gflops,
                   t->shapes[0].after_gflops);
        printf(")%s\n", getenv("CLGRAPH_TUNING") && strcmp(getenv("CLGRAPH_TUNING"), "0") == 0
                             ? ", not applied: CLGRAPH_TUNING=0"
                             : "");
    } else {
        printf("      tuned      no (%s; 'clgraph tune --device %d' takes minutes)\n", t->status,
               d->index);
    }
    free(t);
}

int cmd_devices(int argc, char **argv)
{
    (void)argv;
    if (argc > 0) return usage_error("devices takes no arguments");
    int count = 0;
    if (clg_devices_list(NULL, 0, &count) != CLG_OK) return fail("cannot list OpenCL devices");
    if (count == 0) {
        printf("no OpenCL devices (install pocl-opencl-icd for a CPU device); "
               "'--device ref' runs the host reference executor\n");
        return EXIT_SUCCESS;
    }
    clg_device_info *d = calloc((size_t)count, sizeof *d);
    if (!d) return fail("out of memory");
    int got = count;
    if (clg_devices_list(d, count, &got) != CLG_OK) {
        free(d);
        return fail("cannot list OpenCL devices");
    }
    for (int i = 0; i < got && i < count; i++) {
        printf("%s%d  (%d:%d)  %s\n", d[i].is_default ? "*" : " ", d[i].index, d[i].platform_index,
               d[i].device_index, d[i].name);
        printf("      platform   %s\n", d[i].platform);
        printf("      vendor     %s\n", d[i].vendor);
        printf("      type       %s%s\n", type_name(d[i].type),
               d[i].type == CLG_DEVICE_GPU ? (d[i].unified_memory ? " (integrated)" : " (discrete)") : "");
        printf("      units      %u compute units at %u MHz\n", d[i].compute_units, d[i].clock_mhz);
        printf("      memory     %.1f GiB global, %.0f KiB local, %.1f GiB largest allocation\n",
               (double)d[i].global_mem_bytes / (1u << 30), (double)d[i].local_mem_bytes / 1024.0,
               (double)d[i].max_alloc_bytes / (1u << 30));
        printf("      OpenCL C   %s, driver %s\n", d[i].c_version, d[i].driver);
        printf("      fp16 %s, fp64 %s\n", d[i].fp16 ? "yes" : "no", d[i].fp64 ? "yes" : "no");
        print_tuning(&d[i]);
    }
    printf("* the default device; select another with --device SPEC or CLGRAPH_DEVICE\n");
    free(d);
    return EXIT_SUCCESS;
}
