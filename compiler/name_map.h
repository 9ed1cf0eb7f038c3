/* An open-addressing hash from names to small integers, so name lookups in
 * large graphs (and in fuzzed text) stay linear overall. The map stores only
 * indices; the caller's key function turns an index back into its name. */
#ifndef CLG_NAME_MAP_H
#define CLG_NAME_MAP_H

#include "ir.h"

typedef const char *(*clg_name_key_fn)(const void *ctx, int index);

/* Index stored under name, or -1. */
CLG_INTERNAL int clg_name_map_find(const clg_name_map *m, const char *name, clg_name_key_fn key,
                                   const void *ctx);
/* Stores index under its name (key(ctx, index)); false when out of memory.
 * The caller checks for duplicates first. */
CLG_INTERNAL bool clg_name_map_insert(clg_graph *g, clg_name_map *m, int index, clg_name_key_fn key,
                                      const void *ctx);
/* The slot holding name, or -1; slots[slot] - 1 is its index. */
CLG_INTERNAL int clg_name_map_slot(const clg_name_map *m, const char *name, clg_name_key_fn key,
                                   const void *ctx);
CLG_INTERNAL void clg_name_map_free(clg_graph *g, clg_name_map *m);

#endif
