#include "cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
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

uint64_t clg_sum64(const void *data, size_t n)
{
    const unsigned char *p = data;
    const uint64_t prime = 0x100000001b3ull;
    uint64_t h[4] = {CLG_FNV_OFFSET, CLG_FNV_OFFSET ^ 1, CLG_FNV_OFFSET ^ 2, CLG_FNV_OFFSET ^ 3};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) h[l] = (h[l] ^ clg_le_get64(p + i + 8 * (size_t)l)) * prime;
    h[3] = clg_fnv1a(h[3], p + i, n - i);
    uint64_t len = n;
    h[3] = clg_fnv1a(h[3], &len, sizeof len);
    return clg_fnv1a(CLG_FNV_OFFSET, h, sizeof h);
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
