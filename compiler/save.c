/* clg_graph_save: the canonical text plus, for constants no generator
 * describes, a sidecar weights file next to it (docs/ir.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "print.h"

/* Lists up to this many values stay inline in the text, where they are
 * still readable; longer ones and file(...) constants go to the sidecar. */
#define MAX_INLINE_VALUES 16

static bool host_is_little_endian(void)
{
    const uint32_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static bool in_sidecar(const clg_node *n)
{
    if (n->op != CLG_OP_CONSTANT) return false;
    const clg_const *c = n->constant;
    return c->init.kind == CLG_INIT_FILE || (c->init.kind == CLG_INIT_LIST && c->count > MAX_INLINE_VALUES);
}

static clg_status write_sidecar(clg_graph *g, const char *path, const uint64_t *offsets)
{
    FILE *f = fopen(path, "wb");
    if (!f) return clg_fail(g, CLG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    clg_status s = CLG_OK;
    float chunk[1024];
    for (int i = 0; i < g->n_nodes && !s; i++) {
        if (offsets[i] == CLG_NOT_IN_SIDECAR) continue;
        const clg_const *c = g->nodes[i].constant;
        /* Little-endian whatever the host, in chunks so that swapping needs
         * no allocation. */
        for (size_t k = 0; k < c->count && !s; k += 1024) {
            size_t n = c->count - k < 1024 ? c->count - k : 1024;
            memcpy(chunk, c->data + k, n * sizeof *chunk);
            if (!host_is_little_endian())
                for (size_t j = 0; j < n; j++) {
                    uint8_t *b = (uint8_t *)&chunk[j];
                    uint8_t t0 = b[0], t1 = b[1];
                    b[0] = b[3]; b[1] = b[2]; b[2] = t1; b[3] = t0;
                }
            if (fwrite(chunk, sizeof *chunk, n, f) != n)
                s = clg_fail(g, CLG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        }
    }
    if (fclose(f) != 0 && !s) s = clg_fail(g, CLG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return s;
}

static clg_status write_text(clg_graph *g, const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return clg_fail(g, CLG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    clg_status s = CLG_OK;
    if (fwrite(text, 1, len, f) != len) s = clg_fail(g, CLG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && !s) s = clg_fail(g, CLG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return s;
}

clg_status clg_graph_save(clg_graph *g, const char *path)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!path || !*path) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "path is NULL or empty");
    clg_status s = CLG_OK;
    char *text = NULL, *bin_path = NULL, *weights = NULL;
    size_t len = 0, path_len = strlen(path);
    uint64_t *offsets = clg_malloc(g, ((size_t)g->n_nodes + 1) * sizeof *offsets);
    if (!offsets) {
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory saving %s", path);
        goto done;
    }
    uint64_t offset = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        offsets[i] = CLG_NOT_IN_SIDECAR;
        if (!in_sidecar(&g->nodes[i])) continue;
        offsets[i] = offset;
        offset += g->nodes[i].constant->count * sizeof(float);
    }
    if (offset > 0) {
        /* "dir/model.clg" gets "dir/model.clg.bin", which the text names
         * relative to itself: weights "model.clg.bin". */
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (!*base || strchr(base, '"')) {
            s = clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "cannot name a weights file after '%s'", path);
            goto done;
        }
        if (!(bin_path = clg_malloc(g, path_len + 5))) {
            s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory saving %s", path);
            goto done;
        }
        memcpy(bin_path, path, path_len);
        memcpy(bin_path + path_len, ".bin", 5);
        weights = bin_path + (base - path);
        if ((s = write_sidecar(g, bin_path, offsets))) goto done;
    }
    if ((s = clg_print_with_sidecar(g, weights, offsets, &text, &len))) goto done;
    s = write_text(g, path, text, len);
done:
    clg_free(g, text);
    clg_free(g, bin_path);
    clg_free(g, offsets);
    return s;
}
