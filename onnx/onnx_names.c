/* ONNX names to clgraph names. ONNX allows any string ("onnx::Conv_123",
 * "input:0"); clgraph names use [A-Za-z0-9_./-]. Every other byte becomes
 * '_', and a name already handed out gets ".1", ".2", ... appended. The
 * importer reserves names in a fixed order (graph inputs, initializers,
 * node outputs in file order, then helper nodes as they are made), so the
 * mapping is deterministic and ONNX values keep their plain mapped name
 * whenever it is free. docs/onnx.md documents this. */
#include <stdio.h>
#include <string.h>

#include "name_map.h"
#include "onnx_internal.h"

static const char *name_key(const void *ctx, int i) { return ((const ox_ctx *)ctx)->names[i]; }

static bool valid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '-';
}

const char *ox_unique_name(ox_ctx *ox, const char *onnx_name)
{
    size_t n = strlen(onnx_name);
    /* Room for the mapped name, a ".<int>" suffix and the NUL. */
    size_t size = (n ? n : 1) + 24;
    char *name = clg_malloc(ox->g, size);
    if (!name) return NULL;
    if (n == 0) {
        strcpy(name, "_");
        n = 1;
    } else {
        for (size_t k = 0; k < n; k++) name[k] = valid_char(onnx_name[k]) ? onnx_name[k] : '_';
        name[n] = '\0';
    }
    for (long long k = 1; clg_name_map_find(&ox->name_map, name, name_key, ox) >= 0; k++)
        snprintf(name + n, size - n, ".%lld", k);
    if (!clg_grow(ox->g, (void **)&ox->names, &ox->cap_names, ox->n_names + 1, sizeof *ox->names)) {
        clg_free(ox->g, name);
        return NULL;
    }
    ox->names[ox->n_names] = name;
    if (!clg_name_map_insert(ox->g, &ox->name_map, ox->n_names, name_key, ox)) {
        clg_free(ox->g, name);
        return NULL;
    }
    ox->n_names++;
    return name;
}

void ox_names_free(ox_ctx *ox)
{
    for (int i = 0; i < ox->n_names; i++) clg_free(ox->g, ox->names[i]);
    clg_free(ox->g, ox->names);
    clg_name_map_free(ox->g, &ox->name_map);
    ox->names = NULL;
    ox->n_names = ox->cap_names = 0;
}
