/* clgraph tune: search CLBlast's GEMM parameters for one device and store
 * them, so that every later context on that device applies them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct tune_args {
    const char *device;
    clg_tune_level level;
    clg_context_options context; /* --cache-dir: where the parameters are stored */
} tune_args;

static int parse_tune_args(int argc, char **argv, tune_args *ta)
{
    memset(ta, 0, sizeof *ta);
    ta->level = CLG_TUNE_QUICK;
    ta->context = (clg_context_options)CLG_CONTEXT_OPTIONS_INIT;
    int levels = 0;
    for (int i = 0; i < argc; i++) {
        int missing = 0;
        const char *v, *a = argv[i];
        if ((v = option_value(argc, argv, &i, "--device", &missing))) {
            ta->device = v;
        } else if ((v = option_value(argc, argv, &i, "--cache-dir", &missing))) {
            ta->context.cache_dir = v;
        } else if (strcmp(a, "--quick") == 0) {
            ta->level = CLG_TUNE_QUICK;
            levels++;
        } else if (strcmp(a, "--full") == 0) {
            ta->level = CLG_TUNE_FULL;
            levels++;
        } else if (missing) {
            return usage_error("option %s needs a value", a);
        } else {
            return usage_error("unknown argument '%s' for tune", a);
        }
    }
    if (levels > 1) return usage_error("give one of --quick and --full");
    if (ta->device && strcmp(ta->device, "ref") == 0)
        return usage_error("tune needs an OpenCL device; 'ref' is the host reference executor");
    return 0;
}

/* "4m 35s" */
static const char *duration(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 60) snprintf(buf, size, "%ldm %02lds", t / 60, t % 60);
    else snprintf(buf, size, "%lds", t);
    return buf;
}

typedef struct progress_state {
    int tty;
    int have;               /* last holds a report */
    clg_tune_progress last; /* its strings are clgraph's static ones */
    int width;              /* of the status line on a terminal, to blank it */
} progress_state;

/* "[6/7] Xgemm        134/135, best 61.2 GFLOP/s, 4m 12s" */
static int progress_line(const clg_tune_progress *p, char *line, size_t size)
{
    char t[32], best[48] = "";
    if (p->best > 0) snprintf(best, sizeof best, ", best %.1f %s", p->best, p->unit);
    return snprintf(line, size, "[%d/%d] %-12s %d/%d%s, %s", p->stage_index, p->stage_count,
                    p->stage, p->done, p->total, best, duration(p->elapsed_s, t, sizeof t));
}

/* The finished stage's last report, as one line of the log. */
static void finish_stage(progress_state *ps)
{
    if (!ps->have) return;
    char line[256];
    progress_line(&ps->last, line, sizeof line);
    if (ps->tty) fprintf(stderr, "\r%*s\r", ps->width, "");
    fprintf(stderr, "%s\n", line);
    ps->have = 0;
    ps->width = 0;
}

/* A line per stage as it ends; on a terminal also a status line that
 * changes with every measurement. */
static void on_progress(void *user, const clg_tune_progress *p)
{
    progress_state *ps = user;
    if (ps->have && p->stage_index != ps->last.stage_index) finish_stage(ps);
    ps->last = *p;
    ps->have = 1;
    if (ps->tty) {
        char line[256];
        int n = progress_line(p, line, sizeof line);
        fprintf(stderr, "\r%s%*s", line, ps->width > n ? ps->width - n : 0, "");
        ps->width = n;
        fflush(stderr);
    }
}

static void print_shapes(const clg_tune_info *r)
{
    printf("\n%-22s %12s %12s %8s\n", "GEMM (row-major)", "before", "after", "speedup");
    for (int i = 0; i < r->n_shapes; i++) {
        const clg_tune_shape *s = &r->shapes[i];
        char name[64];
        snprintf(name, sizeof name, "%lldx%lldx%lld %s", (long long)s->m, (long long)s->n,
                 (long long)s->k, s->trans_b ? "NT" : "NN");
        printf("%-22s %12.2f %12.2f %7.2fx   GFLOP/s\n", name, s->before_gflops, s->after_gflops,
               s->before_gflops > 0 ? s->after_gflops / s->before_gflops : 0.0);
    }
}

int cmd_tune(int argc, char **argv)
{
    tune_args ta;
    int rc = parse_tune_args(argc, argv, &ta);
    if (rc) return rc;
    /* Untuned, so "before" is CLBlast's own parameters, not the last tune's. */
    clg_context *ctx = NULL;
    clg_status s = clg_context_create_ex(&ctx, ta.device, CLG_CONTEXT_UNTUNED, &ta.context, NULL, NULL);
    if (s != CLG_OK) {
        rc = fail("%s", ctx ? clg_context_errmsg(ctx) : clg_status_string(s));
        clg_context_destroy(ctx);
        return rc;
    }
    clg_device_info info;
    clg_context_device(ctx, &info);
    printf("tuning CLBlast's GEMM parameters for %s (%s)\n", info.name, info.platform);
    printf("%s; the device is busy meanwhile\n",
           ta.level == CLG_TUNE_FULL ? "full search: tens of minutes"
                                     : "quick search: five to ten minutes (--full searches more)");
    fflush(stdout);

    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.tty = isatty(fileno(stderr));
    clg_tune_info *r = calloc(1, sizeof *r);
    if (!r) {
        clg_context_destroy(ctx);
        return fail("out of memory");
    }
    s = clg_tune(ctx, ta.level, on_progress, &ps, r);
    finish_stage(&ps);
    if (s != CLG_OK) {
        rc = fail("tuning failed: %s", clg_context_errmsg(ctx));
    } else {
        char t[32];
        print_shapes(r);
        if (r->tuned) {
            printf("\nparameters written to %s:\n", r->path);
            for (const char *line = r->parameters; *line;) {
                const char *nl = strchr(line, '\n');
                int len = nl ? (int)(nl - line) : (int)strlen(line);
                printf("  %.*s\n", len, line);
                line += len + (nl != NULL);
            }
            printf("tuned in %s; every context on this device now applies them "
                   "(CLGRAPH_TUNING=0 to compare without)\n",
                   duration(r->seconds, t, sizeof t));
        } else {
            printf("\n%s\n", r->status);
        }
    }
    free(r);
    clg_context_destroy(ctx);
    return rc;
}
