/* The sidecar weights file is raw little-endian float32; each constant names
 * its byte offset, so one file serves a whole model and can be memory-mapped
 * or written by numpy's tofile(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "weights_file.h"

clg_status clg_read_file(clg_graph *g, const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return clg_fail(g, CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    clg_status s = CLG_OK;
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *p = clg_realloc(g, buf, ncap);
            if (!p) {
                s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
                break;
            }
            buf = p;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) s = clg_fail(g, CLG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (s) {
        clg_free(g, buf);
        return s;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CLG_OK;
}

static bool host_is_little_endian(void)
{
    const uint32_t one = 1;
    return *(const uint8_t *)&one == 1;
}

clg_status clg_weights_load(clg_graph *g, const char *base_dir, int line)
{
    const char *name = g->weights_path;
    char path[4096];
    int n;
    if (name[0] == '/' || !base_dir || !*base_dir) n = snprintf(path, sizeof path, "%s", name);
    else n = snprintf(path, sizeof path, "%s%s%s", base_dir,
                      base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", name);
    if (n < 0 || (size_t)n >= sizeof path)
        return clg_fail(g, CLG_ERR_IO, "line %d: the weights file's path is longer than %zu bytes", line,
                        sizeof path - 1);
    FILE *f = fopen(path, "rb");
    if (!f) return clg_fail(g, CLG_ERR_IO, "line %d: cannot open weights file %s: %s", line, path, strerror(errno));
    clg_status s = CLG_OK;
    off_t size = -1; /* off_t, not long: sidecars can pass 2 GiB */
    if (fseeko(f, 0, SEEK_END) == 0) size = ftello(f);
    if (size < 0) s = clg_fail(g, CLG_ERR_IO, "line %d: cannot size weights file %s", line, path);
    for (int i = 0; i < g->n_nodes && !s; i++) {
        clg_node *n = &g->nodes[i];
        if (!n->constant || n->constant->init.kind != CLG_INIT_FILE) continue;
        uint64_t off = n->constant->init.offset, bytes = n->constant->count * sizeof(float);
        if (off > (uint64_t)size || bytes > (uint64_t)size - off) {
            s = clg_fail_node(g, CLG_ERR_FORMAT, n->line, n->name, n->op,
                              "needs bytes %llu..%llu of %s, which has %lld bytes",
                              (unsigned long long)off, (unsigned long long)(off + bytes), path,
                              (long long)size);
            break;
        }
        if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(n->constant->data, 1, bytes, f) != bytes) {
            s = clg_fail_node(g, CLG_ERR_IO, n->line, n->name, n->op, "cannot read %s", path);
            break;
        }
        if (!host_is_little_endian()) {
            for (size_t k = 0; k < n->constant->count; k++) {
                uint8_t *b = (uint8_t *)&n->constant->data[k];
                uint8_t t0 = b[0], t1 = b[1];
                b[0] = b[3]; b[1] = b[2]; b[2] = t1; b[3] = t0;
            }
        }
    }
    fclose(f);
    return s;
}

clg_status clg_weights_from_memory(clg_graph *g, const void *data, size_t size, int line)
{
    (void)line;
    const unsigned char *bytes = data;
    for (int i = 0; i < g->n_nodes; i++) {
        clg_node *n = &g->nodes[i];
        if (!n->constant || n->constant->init.kind != CLG_INIT_FILE) continue;
        uint64_t off = n->constant->init.offset, len = n->constant->count * sizeof(float);
        if (off > (uint64_t)size || len > (uint64_t)size - off)
            return clg_fail_node(g, CLG_ERR_FORMAT, n->line, n->name, n->op,
                                 "needs bytes %llu..%llu of the weights, which have %zu bytes",
                                 (unsigned long long)off, (unsigned long long)(off + len), size);
        if (len) memcpy(n->constant->data, bytes + off, (size_t)len);
        if (!host_is_little_endian()) {
            for (size_t k = 0; k < n->constant->count; k++) {
                uint8_t *b = (uint8_t *)&n->constant->data[k];
                uint8_t t0 = b[0], t1 = b[1];
                b[0] = b[3]; b[1] = b[2]; b[2] = t1; b[3] = t0;
            }
        }
    }
    return CLG_OK;
}
