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

bool clg_shape_has_batch(const clg_shape *s) { return s->rank > 0 && s->dims[0] == CLG_BATCH; }

const char *clg_shape_str(const clg_shape *s, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->rank && n < size; i++) {
        if (s->dims[i] == CLG_BATCH)
            n += (size_t)snprintf(buf + n, size - n, "%sN", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)s->dims[i]);
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}
