/* Fuzzes the .npy reader. The library reads .npy files only from a path, so
 * each input is written to one scratch file in a tmpfs (/dev/shm when there
 * is one) and read from there. Properties beyond "no crash":
 *   - a rejected file gives IO, FORMAT or OUT_OF_MEMORY with a message and
 *     leaves the tensor cleared;
 *   - an accepted file has rank 1..8 and positive dimensions, and writing it
 *     with clg_graph_write_npy and reading that back gives the same shape and
 *     the same bits;
 *   - checking the shape against a graph input ([N, 3]) accepts exactly the
 *     accepted files of rank 2 whose second dimension is 3, and rejects the
 *     others with INVALID_ARGUMENT. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clgraph.h"
#include "fuzz_alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char in_path[256], out_path[256];

static void remove_scratch(void)
{
    unlink(in_path);
    unlink(out_path);
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_npy: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void make_scratch(void)
{
    if (in_path[0]) return;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(in_path, sizeof in_path, "%s/clg_fuzz_npy_%ld_in.npy", dir, (long)getpid());
    snprintf(out_path, sizeof out_path, "%s/clg_fuzz_npy_%ld_out.npy", dir, (long)getpid());
    atexit(remove_scratch);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) fail("cannot create the scratch file", path);
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) fail("cannot write the scratch file", path);
        done += (size_t)n;
    }
    close(fd);
}

static void check_failure(clg_graph *g, clg_status s, const clg_tensor *t, int with_input)
{
    if (s != CLG_ERR_IO && s != CLG_ERR_FORMAT && s != CLG_ERR_OUT_OF_MEMORY &&
        !(with_input && s == CLG_ERR_INVALID_ARGUMENT))
        fail("read_npy returned an unexpected status", clg_status_string(s));
    if (clg_graph_errmsg(g)[0] == '\0') fail("a failed read left no message", clg_status_string(s));
    if (t->data || t->rank) fail("a failed read left data in the tensor", clg_graph_errmsg(g));
}

static size_t count(const clg_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    make_scratch();
    write_file(in_path, data, size);

    clg_graph *g = NULL;
    if (clg_graph_create(&g, fuzz_alloc, NULL) != CLG_OK) fail("clg_graph_create failed", NULL);
    const int64_t dims[2] = {CLG_BATCH, 3};
    if (clg_graph_add_input(g, "x", 2, dims) != CLG_OK) fail("add_input failed", clg_graph_errmsg(g));

    clg_tensor t, back, checked;
    clg_status s = clg_graph_read_npy(g, in_path, -1, &t);
    if (s != CLG_OK) {
        check_failure(g, s, &t, 0);
    } else {
        if (!t.data || t.rank < 1 || t.rank > CLG_MAX_RANK) fail("an accepted file has no data or a bad rank", NULL);
        for (int i = 0; i < t.rank; i++)
            if (t.dims[i] < 1) fail("an accepted file has a dimension < 1", NULL);
        s = clg_graph_write_npy(g, out_path, &t);
        if (s != CLG_OK) fail("an accepted tensor does not write", clg_graph_errmsg(g));
        s = clg_graph_read_npy(g, out_path, -1, &back);
        if (s == CLG_OK) {
            if (back.rank != t.rank || memcmp(back.dims, t.dims, (size_t)t.rank * sizeof t.dims[0]) != 0)
                fail("write + read changed the shape", NULL);
            if (back.dtype != t.dtype) fail("write + read changed the dtype", NULL);
            if (memcmp(back.data, t.data, count(&t) * clg_dtype_size(t.dtype)) != 0)
                fail("write + read changed the data", NULL);
            clg_graph_free_tensor(g, &back);
        } else if (s != CLG_ERR_OUT_OF_MEMORY) {
            fail("what write_npy wrote does not read back", clg_graph_errmsg(g));
        }
    }

    clg_status sc = clg_graph_read_npy(g, in_path, 0, &checked);
    if (sc != CLG_OK) check_failure(g, sc, &checked, 1);
    if (s == CLG_OK && sc != CLG_ERR_OUT_OF_MEMORY) {
        int fits = t.rank == 2 && t.dims[1] == 3 && t.dtype == CLG_DTYPE_F32;
        if (fits != (sc == CLG_OK))
            fail("the input check disagrees with the file's shape and dtype", clg_graph_errmsg(g));
    } else if (s != CLG_OK && s != CLG_ERR_OUT_OF_MEMORY && sc == CLG_OK) {
        fail("a file rejected without a shape check is accepted with one", NULL);
    }
    clg_graph_free_tensor(g, &checked);
    if (s == CLG_OK) clg_graph_free_tensor(g, &t);
    clg_graph_destroy(g);
    return 0;
}
