#include <string.h>

#include "name_map.h"

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int clg_name_map_slot(const clg_name_map *m, const char *name, clg_name_key_fn key, const void *ctx)
{
    if (!m->cap) return -1;
    for (uint32_t i = hash(name) & (uint32_t)(m->cap - 1);; i = (i + 1) & (uint32_t)(m->cap - 1)) {
        int v = m->slots[i];
        if (!v) return -1;
        if (strcmp(key(ctx, v - 1), name) == 0) return (int)i;
    }
}

int clg_name_map_find(const clg_name_map *m, const char *name, clg_name_key_fn key, const void *ctx)
{
    int slot = clg_name_map_slot(m, name, key, ctx);
    return slot < 0 ? -1 : m->slots[slot] - 1;
}

static void place(clg_name_map *m, int index, const char *name)
{
    uint32_t i = hash(name) & (uint32_t)(m->cap - 1);
    while (m->slots[i]) i = (i + 1) & (uint32_t)(m->cap - 1);
    m->slots[i] = index + 1;
}

bool clg_name_map_insert(clg_graph *g, clg_name_map *m, int index, clg_name_key_fn key, const void *ctx)
{
    if ((m->count + 1) * 2 > m->cap) {
        int cap = m->cap ? m->cap * 2 : 64;
        if (cap > (1 << 28)) return false;
        int *slots = clg_calloc(g, (size_t)cap, sizeof *slots);
        if (!slots) return false;
        clg_name_map old = *m;
        m->slots = slots;
        m->cap = cap;
        for (int i = 0; i < old.cap; i++)
            if (old.slots[i]) place(m, old.slots[i] - 1, key(ctx, old.slots[i] - 1));
        clg_free(g, old.slots);
    }
    place(m, index, key(ctx, index));
    m->count++;
    return true;
}

void clg_name_map_free(clg_graph *g, clg_name_map *m)
{
    clg_free(g, m->slots);
    memset(m, 0, sizeof *m);
}
