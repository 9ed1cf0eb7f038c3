/* Options structs that can grow: the caller's struct_size says which
 * version of the struct it was built against. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

bool clg_options_read(void *out, size_t known, const void *options, size_t min, char *why,
                      size_t why_size)
{
    size_t given;
    memcpy(&given, options, sizeof given);
    if (given == 0) {
        snprintf(why, why_size, "struct_size is 0: initialise the options with their _INIT macro");
        return false;
    }
    if (given < min) {
        snprintf(why, why_size, "struct_size %zu is smaller than the first version of the struct (%zu bytes)",
                 given, min);
        return false;
    }
    /* A newer caller may pass a larger struct as long as it leaves the
     * fields this library does not know at zero, their default (as Linux's
     * openat2 does with struct open_how). */
    const unsigned char *bytes = options;
    for (size_t i = known; i < given; i++)
        if (bytes[i]) {
            snprintf(why, why_size,
                     "struct_size %zu: byte %zu is set, past the %zu bytes this version of clgraph "
                     "knows (the options come from a newer clgraph.h)", given, i, known);
            return false;
        }
    memcpy(out, options, given < known ? given : known);
    return true;
}
