/* Files: whole-file reads and the sidecar weights file (docs/ir.md). */
#ifndef CLG_WEIGHTS_FILE_H
#define CLG_WEIGHTS_FILE_H

#include "ir.h"

/* Reads path into *data (allocated with g's allocator, NUL-terminated). */
CLG_INTERNAL clg_status clg_read_file(clg_graph *g, const char *path, char **data, size_t *len);

/* Fills every file(offset) constant from g->weights_path (relative paths
 * resolved against base_dir). line is the weights statement's line. */
CLG_INTERNAL clg_status clg_weights_load(clg_graph *g, const char *base_dir, int line);

/* As clg_weights_load, with the weights file's bytes given in memory
 * (size bytes at data; a bundle's weights section): every file(offset)
 * constant must lie inside them (else CLG_ERR_FORMAT naming the node). */
CLG_INTERNAL clg_status clg_weights_from_memory(clg_graph *g, const void *data, size_t size, int line);

/* Parses text like clg_graph_parse, with the `weights` statement's file
 * replaced by the size bytes at data (borrowed for the call). */
CLG_INTERNAL clg_status clg_graph_parse_with_weights(clg_graph *g, const char *text, size_t len,
                                                     const void *weights, size_t weights_size);

#endif
