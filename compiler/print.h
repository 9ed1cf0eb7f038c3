/* Printing with a sidecar: what clg_graph_save needs from print.c. */
#ifndef CLG_PRINT_H
#define CLG_PRINT_H

#include "ir.h"

#define CLG_NOT_IN_SIDECAR UINT64_MAX

/* The canonical text of g, with `weights "weights_path"` first when
 * weights_path is not NULL, and constant i written as file(file_offsets[i])
 * where file_offsets (per node, may be NULL) is not CLG_NOT_IN_SIDECAR.
 * clg_graph_print is this with g's own weights path and no offsets. */
CLG_INTERNAL clg_status clg_print_with_sidecar(clg_graph *g, const char *weights_path,
                                               const uint64_t *file_offsets, char **text, size_t *len);

#endif
