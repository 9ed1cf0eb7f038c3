/* Files: whole-file reads and the sidecar weights file (docs/ir.md). */
#ifndef CLG_WEIGHTS_FILE_H
#define CLG_WEIGHTS_FILE_H

#include "ir.h"

/* Reads path into *data (allocated with g's allocator, NUL-terminated). */
CLG_INTERNAL clg_status clg_read_file(clg_graph *g, const char *path, char **data, size_t *len);

/* Fills every file(offset) constant from g->weights_path (relative paths
 * resolved against base_dir). line is the weights statement's line. */
CLG_INTERNAL clg_status clg_weights_load(clg_graph *g, const char *base_dir, int line);

#endif
