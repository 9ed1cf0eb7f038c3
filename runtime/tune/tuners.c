/* Driving CLBlast's kernel tuners (Debian's clblast-utils) as child
 * processes and reading what they measured.
 *
 * Why child processes rather than timing CLBlastSgemm under
 * CLBlastOverrideParameters for every configuration: CLBlast builds one
 * program per routine holding every level-3 kernel (copies, transposes,
 * four direct GEMM variants and Xgemm), so each new parameter set costs a
 * ~9 s compile on PoCL, while a tuner compiles the one kernel it tunes
 * (~0.6 s per Xgemm configuration, compile and timing together). The child
 * also keeps a configuration that crashes the driver from taking the
 * caller's process with it, and keeps the throwaway kernels out of the
 * user's PoCL cache.
 *
 * A tuner prints one table row per configuration:
 *
 *     * Parameters explored: GEMMK MWG NWG KWG MDIMC NDIMC ...
 *     |   12 |    58 |    0  128  128   16 ... |  16  8 |  32  16 |  OK  129 ms |  7.25 ms |  4.6 |  results match |
 *
 * Rows are read as they come, so stopping a tuner early (time or count
 * limit) keeps everything it measured so far. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tuning.h"

extern char **environ;

#define MAX_LINE 4096

/* ---------------------------------------------------------------- finding */

static char *join(const clg_allocator *a, const char *dir, size_t dir_len, const char *name)
{
    size_t n = dir_len + 1 + strlen(name) + 1;
    char *p = clg_mem_realloc(a, NULL, n);
    if (p) snprintf(p, n, "%.*s/%s", (int)dir_len, dir, name);
    return p;
}

char *clg_tuner_find(const clg_allocator *a, const char *program)
{
    const char *dir = getenv("CLGRAPH_CLBLAST_TUNERS");
    if (dir) {
        if (!*dir || strcmp(dir, "0") == 0) return NULL;
        char *p = join(a, dir, strlen(dir), program);
        if (p && access(p, X_OK) == 0) return p;
        clg_mem_free(a, p);
        return NULL;
    }
    const char *path = getenv("PATH");
    for (const char *s = path; s && *s;) {
        const char *colon = strchr(s, ':');
        size_t len = colon ? (size_t)(colon - s) : strlen(s);
        if (len > 0) {
            char *p = join(a, s, len, program);
            if (!p) return NULL;
            if (access(p, X_OK) == 0) return p;
            clg_mem_free(a, p);
        }
        s = colon ? colon + 1 : s + len;
    }
    return NULL;
}

/* ---------------------------------------------------------------- parsing */

/* Removes terminal colour sequences (ESC [ ... letter) in place. */
static void strip_ansi(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\x1b' && r[1] == '[') {
            r += 2;
            while (*r && !((*r >= 'A' && *r <= 'Z') || (*r >= 'a' && *r <= 'z'))) r++;
            if (*r) r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

static char *trim(char *s)
{
    while (*s == ' ') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* The number before " configuration(s)" in a line, or -1. */
static int count_before_configurations(const char *line)
{
    const char *p = strstr(line, " configuration(s)");
    if (!p) return -1;
    const char *q = p;
    while (q > line && q[-1] >= '0' && q[-1] <= '9') q--;
    if (q == p) return -1;
    return atoi(q);
}

void clg_tuner_parser_init(clg_tuner_parser *p, clg_tune_kernel_id id)
{
    memset(p, 0, sizeof *p);
    p->id = id;
}

int clg_tuner_parse_line(clg_tuner_parser *p, char *line, clg_tuner_result *r)
{
    clg_tune_kernel_id id = p->id;
    const clg_tune_kernel *k = clg_tune_kernel_get(id);
    strip_ansi(line);
    char *s = trim(line);
    if (strncmp(s, "* Parameters explored:", 22) == 0) {
        p->n_names = 0;
        char *save = NULL;
        for (char *tok = strtok_r(s + 22, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            if (p->n_names == CLG_TK_MAX_PARAMS) {
                p->n_names = -1; /* more names than any kernel has: no rows match */
                break;
            }
            p->names[p->n_names++] = clg_tune_param_find(id, tok);
        }
        return 0;
    }
    /* "* Found 578 configuration(s)" then, when sampling, "* Exploring a
     * random subset of 58 configuration(s)", which replaces it. */
    int count = count_before_configurations(s);
    if (strncmp(s, "* Found ", 8) == 0 && count >= 0) {
        p->announced += count;
        p->pending = count;
        return 0;
    }
    if (strncmp(s, "* Exploring", 11) == 0 && count >= 0) {
        p->announced += count - p->pending;
        p->pending = 0;
        return 0;
    }
    if (s[0] != '|') return 0;

    char *field[12];
    int n_fields = 0;
    for (char *p = s; n_fields < 12;) {
        char *bar = strchr(p, '|');
        if (!bar) break;
        *bar = '\0';
        field[n_fields++] = p;
        p = bar + 1;
    }
    /* "", ID, total, params, local, global, compiles, time, GFLOPS, status */
    if (n_fields < 10) return 0;
    char *idf = trim(field[1]);
    if (!*idf || idf[0] < '0' || idf[0] > '9') return 0; /* header or reference row */
    if (!strstr(field[9], "results match")) return 0;
    if (p->n_names != k->n_params) return 0;

    bool seen[CLG_TK_MAX_PARAMS] = {false};
    char *save = NULL, *tok = strtok_r(field[3], " ", &save);
    for (int i = 0; i < p->n_names; i++, tok = strtok_r(NULL, " ", &save)) {
        int at = p->names[i];
        if (!tok || at < 0 || seen[at]) return 0;
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(tok, &end, 10);
        if (errno || *end || end == tok) return 0;
        r->values[at] = (size_t)v;
        seen[at] = true;
    }
    if (tok) return 0;
    char *end = NULL;
    r->ms = strtod(trim(field[7]), &end);
    if (end == field[7] || strncmp(trim(end), "ms", 2) != 0 || !(r->ms > 0)) return 0;
    /* The tuner checked the numbers; clgraph checks the values, since these
     * may end up in a file and in CLBlast. */
    return clg_tune_params_valid(id, r->values, NULL, 0) ? 1 : 0;
}

/* ---------------------------------------------------------------- running */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_result(const void *x, const void *y)
{
    double a = ((const clg_tuner_result *)x)->ms, b = ((const clg_tuner_result *)y)->ms;
    return (a > b) - (a < b);
}

void clg_tuner_results_free(const clg_allocator *a, clg_tuner_results *r)
{
    if (!r) return;
    clg_mem_free(a, r->items);
    memset(r, 0, sizeof *r);
}

/* The child writes to a pseudo-terminal: C stdio would buffer a pipe in
 * 4 KiB blocks, so rows would come late and the last ones of a tuner that
 * is stopped would be lost; on a terminal it writes each line. */
static bool open_pty(int *master, int *slave)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) return false;
    const char *name = NULL;
    if (grantpt(m) != 0 || unlockpt(m) != 0 || !(name = ptsname(m))) {
        close(m);
        return false;
    }
    int s = open(name, O_RDWR | O_NOCTTY);
    if (s < 0) {
        close(m);
        return false;
    }
    *master = m;
    *slave = s;
    return true;
}

/* The environment for the child: ours with POCL_CACHE_DIR pointing into
 * scratch. One allocation: the pointer array followed by the new entry. */
static char **child_env(const clg_allocator *a, const char *scratch)
{
    size_t n = 0;
    while (environ && environ[n]) n++;
    const char *prefix = "POCL_CACHE_DIR=";
    size_t entry = strlen(prefix) + strlen(scratch) + strlen("/pocl") + 1;
    char **env = clg_mem_realloc(a, NULL, (n + 2) * sizeof *env + entry);
    if (!env) return NULL;
    char *pocl = (char *)(env + n + 2);
    snprintf(pocl, entry, "%s%s/pocl", prefix, scratch);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], prefix, strlen(prefix)) != 0) env[j++] = environ[i];
    env[j++] = pocl;
    env[j] = NULL;
    return env;
}

clg_status clg_tuner_run(const clg_allocator *a, const char *program_path, clg_tune_kernel_id id,
                         const clg_device_info *device, size_t m, size_t n, size_t k,
                         double fraction, int max_results, double max_seconds, const char *scratch,
                         clg_tuner_row_fn row, void *user, clg_tuner_results *out, char *err,
                         size_t err_size)
{
    memset(out, 0, sizeof *out);
    out->exit_code = -1;
    if (device->platform_index < 0 || device->device_index < 0) {
        snprintf(err, err_size, "the device is not in the OpenCL device list");
        return CLG_ERR_UNSUPPORTED;
    }
    char num[7][32];
    snprintf(num[0], sizeof num[0], "%d", device->platform_index);
    snprintf(num[1], sizeof num[1], "%d", device->device_index);
    snprintf(num[2], sizeof num[2], "%zu", m);
    snprintf(num[3], sizeof num[3], "%zu", n);
    snprintf(num[4], sizeof num[4], "%zu", k);
    snprintf(num[5], sizeof num[5], "%g", fraction);
    bool gemm = id == CLG_TK_XGEMM || id == CLG_TK_XGEMM_DIRECT;
    char *argv[] = {(char *)program_path, "-platform", num[0], "-device",   num[1],
                    "-precision",         "32",      "-m",   num[2],    "-n",
                    num[3],               "-fraction", num[5], gemm ? "-k" : NULL, num[4],
                    NULL};

    char **env = child_env(a, scratch);
    char *line = clg_mem_realloc(a, NULL, MAX_LINE);
    if (!env || !line) {
        clg_mem_free(a, env);
        clg_mem_free(a, line);
        snprintf(err, err_size, "out of memory");
        return CLG_ERR_OUT_OF_MEMORY;
    }
    clg_status s = CLG_OK;
    int fds[2] = {-1, -1};
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = -1;
    bool eof = false;
    if (null_fd < 0 || (!open_pty(&fds[0], &fds[1]) && pipe(fds) != 0)) {
        snprintf(err, err_size, "cannot start %s: %s", program_path, strerror(errno));
        s = CLG_ERR_IO;
        goto done;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "cannot start %s: fork: %s", program_path, strerror(errno));
        s = CLG_ERR_IO;
        goto done;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec: the parent has
         * driver threads whose locks the child inherits. */
        if (dup2(null_fd, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 ||
            chdir(scratch) != 0)
            _exit(127);
        execve(program_path, argv, env);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;

    double start = now_s();
    clg_tuner_parser parser;
    clg_tuner_parser_init(&parser, id);
    size_t used = 0;
    bool stop = false;
    while (!eof && !stop) {
        double left = max_seconds > 0 ? max_seconds - (now_s() - start) : 1e9;
        if (left <= 0) break;
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int ready = poll(&pfd, 1, left > 1e6 ? -1 : (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        ssize_t got = read(fds[0], line + used, MAX_LINE - 1 - used);
        if (got < 0 && errno == EINTR) continue;
        /* A terminal's master reads EIO once the child has exited. */
        if (got <= 0) {
            eof = true;
            got = 0;
            if (used > 0) line[used++] = '\n'; /* a last line without a newline */
        }
        used += (size_t)got;
        line[used] = '\0';
        char *start_of_line = line;
        char *nl;
        while (!stop && (nl = memchr(start_of_line, '\n', used - (size_t)(start_of_line - line)))) {
            *nl = '\0';
            clg_tuner_result r;
            memset(&r, 0, sizeof r);
            int verified = clg_tuner_parse_line(&parser, start_of_line, &r);
            out->announced = parser.announced;
            if (verified) {
                if (out->count == out->cap) {
                    int cap = out->cap ? 2 * out->cap : 64;
                    clg_tuner_result *items =
                        clg_mem_realloc(a, out->items, (size_t)cap * sizeof *items);
                    if (!items) {
                        snprintf(err, err_size, "out of memory");
                        s = CLG_ERR_OUT_OF_MEMORY;
                        stop = true;
                        break;
                    }
                    out->items = items;
                    out->cap = cap;
                }
                out->items[out->count++] = r;
                if (row) {
                    double best = out->items[0].ms;
                    for (int i = 1; i < out->count; i++)
                        if (out->items[i].ms < best) best = out->items[i].ms;
                    row(user, out->count, out->announced, best);
                }
                if (max_results > 0 && out->count >= max_results) stop = true;
            }
            start_of_line = nl + 1;
        }
        /* Keep the unfinished line; drop one that never ends. */
        size_t rest = used - (size_t)(start_of_line - line);
        if (rest >= MAX_LINE - 1) rest = 0;
        memmove(line, start_of_line, rest);
        used = rest;
    }

done:
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    if (null_fd >= 0) close(null_fd);
    if (pid > 0) {
        /* Stopped early (a limit, or an error here): kill the tuner, which
         * would otherwise keep the device busy. */
        if (!eof) kill(pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        out->exit_code = eof && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (out->count > 1) qsort(out->items, (size_t)out->count, sizeof *out->items, cmp_result);
    clg_mem_free(a, line);
    clg_mem_free(a, env);
    return s;
}

/* ---------------------------------------------------------------- scratch */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void clg_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
