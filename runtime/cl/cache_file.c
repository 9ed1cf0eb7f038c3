#include "cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t clg_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* An 8-byte little-endian word: one load on a little-endian host. */
static inline uint64_t word_le(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

uint64_t clg_sum64(const void *data, size_t n)
{
    const unsigned char *p = data;
    const uint64_t prime = 0x100000001b3ull;
    /* four chains of multiplies, in registers, overlap in the pipeline */
    uint64_t h0 = CLG_FNV_OFFSET, h1 = CLG_FNV_OFFSET ^ 1, h2 = CLG_FNV_OFFSET ^ 2, h3 = CLG_FNV_OFFSET ^ 3;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        h0 = (h0 ^ word_le(p + i)) * prime;
        h1 = (h1 ^ word_le(p + i + 8)) * prime;
        h2 = (h2 ^ word_le(p + i + 16)) * prime;
        h3 = (h3 ^ word_le(p + i + 24)) * prime;
    }
    h3 = clg_fnv1a(h3, p + i, n - i);
    unsigned char tail[40]; /* the length, then the lanes, little-endian */
    clg_le_put64(tail, (uint64_t)n);
    h3 = clg_fnv1a(h3, tail, 8);
    clg_le_put64(tail, h0);
    clg_le_put64(tail + 8, h1);
    clg_le_put64(tail + 16, h2);
    clg_le_put64(tail + 24, h3);
    return clg_fnv1a(CLG_FNV_OFFSET, tail, 32);
}

bool clg_read_all(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

bool clg_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Unique enough for a temporary name within one directory: the pid
 * separates processes, the counter threads of one, the clock reruns. */
static uint64_t temp_suffix(void)
{
    static atomic_uint counter;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t parts[3] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec,
                         (uint64_t)atomic_fetch_add(&counter, 1)};
    return clg_fnv1a(CLG_FNV_OFFSET, parts, sizeof parts);
}

int clg_open_temp_beside(const char *path, char *tmp, size_t tmp_size)
{
    int fd = -1;
    for (int attempt = 0; attempt < 4 && fd < 0; attempt++) {
        snprintf(tmp, tmp_size, "%s.%ld.%016llx.tmp", path, (long)getpid(),
                 (unsigned long long)temp_suffix());
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) break;
    }
    return fd;
}
