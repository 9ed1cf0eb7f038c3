/* What the on-disk formats (program cache, tuning files, bundles) share:
 * little-endian integers, the hash that names and checks their files,
 * whole reads and writes that survive EINTR,
 * and the temporary file beside the target that is renamed over it, so a
 * reader never sees a half-written entry. */
#ifndef CLG_CACHE_FILE_H
#define CLG_CACHE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir.h"

#define CLG_FNV_OFFSET 0xcbf29ce484222325ull

/* Little-endian integers, whatever the host's byte order. */
static inline void clg_le_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline void clg_le_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t clg_le_get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t clg_le_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* FNV-1a of n bytes, continuing from h (start with CLG_FNV_OFFSET). */
CLG_INTERNAL uint64_t clg_fnv1a(uint64_t h, const void *data, size_t n);
/* A checksum of n bytes for large data (a bundle's weights): FNV-1a's
 * step over little-endian 8-byte words in four interleaved lanes, the
 * bytes past the last whole group of 32 and the length into the last
 * lane, the lanes folded with FNV-1a. About 30x faster than clg_fnv1a,
 * which takes one multiply per byte; any changed byte changes its lane. */
CLG_INTERNAL uint64_t clg_sum64(const void *data, size_t n);
/* Exactly n bytes, or false. */
CLG_INTERNAL bool clg_read_all(int fd, void *buf, size_t n);
CLG_INTERNAL bool clg_write_all(int fd, const void *buf, size_t n);
/* Creates a new file "PATH.<pid>.<unique>.tmp" (mode 0600, exclusive) and
 * writes its name to tmp (tmp_size >= strlen(path) + 64). Returns the
 * descriptor, or -1 with errno set. */
CLG_INTERNAL int clg_open_temp_beside(const char *path, char *tmp, size_t tmp_size);

#endif
