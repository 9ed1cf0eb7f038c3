/* Host memory through the graph's lua_Alloc-shaped allocator. Each block
 * carries its size in a header so frees can report it. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Max alignment of any C object, so the payload stays aligned. */
#define HEADER_SIZE 16

static size_t *block_header(void *ptr) { return (size_t *)((char *)ptr - HEADER_SIZE); }

void *clg_default_alloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

void *clg_mem_realloc(const clg_allocator *a, void *ptr, size_t new_size)
{
    if (new_size > SIZE_MAX - HEADER_SIZE) return NULL;
    size_t old_total = ptr ? *block_header(ptr) + HEADER_SIZE : 0;
    void *old_block = ptr ? block_header(ptr) : NULL;
    size_t *block = a->fn(a->user, old_block, old_total, new_size + HEADER_SIZE);
    if (!block) return NULL;
    *block = new_size;
    return (char *)block + HEADER_SIZE;
}

void *clg_mem_calloc(const clg_allocator *a, size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - HEADER_SIZE) / size) return NULL;
    void *p = clg_mem_realloc(a, NULL, n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void clg_mem_free(const clg_allocator *a, void *ptr)
{
    if (!ptr) return;
    size_t *h = block_header(ptr);
    a->fn(a->user, h, *h + HEADER_SIZE, 0);
}

void *clg_malloc(clg_graph *g, size_t size) { return clg_mem_realloc(&g->allocator, NULL, size); }

void *clg_calloc(clg_graph *g, size_t n, size_t size) { return clg_mem_calloc(&g->allocator, n, size); }

void *clg_realloc(clg_graph *g, void *ptr, size_t new_size)
{
    return clg_mem_realloc(&g->allocator, ptr, new_size);
}

void clg_free(clg_graph *g, void *ptr) { clg_mem_free(&g->allocator, ptr); }

char *clg_strdup(clg_graph *g, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = clg_malloc(g, n);
    if (p) memcpy(p, s, n);
    return p;
}

bool clg_grow(clg_graph *g, void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return true;
    int new_cap = *cap ? *cap : 8;
    while (new_cap < need) {
        if (new_cap > (1 << 28)) return false;
        new_cap *= 2;
    }
    void *p = clg_realloc(g, *arr, (size_t)new_cap * elem);
    if (!p) return false;
    *arr = p;
    *cap = new_cap;
    return true;
}
