/* Small helpers on shapes. */
#include <stdio.h>

#include "ir.h"

int64_t clg_shape_count(const clg_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return -1;
        n *= s->dims[i];
    }
    return n;
}

bool clg_shape_is_symbolic(const clg_shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (clg_dim_is_symbolic(s->dims[i])) return true;
    return false;
}

const char *clg_shape_str(const clg_graph *g, const clg_shape *s, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->rank && n < size; i++) {
        char d[64];
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", clg_dim_str(g, s->dims[i], d, sizeof d));
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}
