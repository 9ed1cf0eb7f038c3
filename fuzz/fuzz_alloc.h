/* An allocator for the fuzz harnesses: the C library's, but it refuses any
 * single block over FUZZ_MAX_ALLOC bytes. The text format allows constants
 * of up to 2^31 floats (8 GiB), which a fuzzer finds in seconds; refusing
 * them turns the allocation into CLG_ERR_OUT_OF_MEMORY — a path the library
 * must handle anyway — instead of libFuzzer's malloc limit "crash". */
#ifndef CLG_FUZZ_ALLOC_H
#define CLG_FUZZ_ALLOC_H

#include <stdlib.h>

#define FUZZ_MAX_ALLOC ((size_t)64 << 20)

static void *fuzz_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (new_size > FUZZ_MAX_ALLOC) return NULL;
    return realloc(ptr, new_size);
}

#endif
