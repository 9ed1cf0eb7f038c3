/* Shared pieces of the clgraph command-line tool. Exit status convention:
 * 0 success, 1 an error from the library or a file, 2 a usage error. */
#ifndef CLG_CLI_H
#define CLG_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "clgraph.h"

#define EXIT_USAGE 2
#define MAX_FILES 64
/* Generated inputs: input i is uniform in [-1, 1) from seed RANDOM_SEED + i,
 * with the generator of the text format's random(seed) (SplitMix64), so a
 * run can be reproduced exactly elsewhere. */
#define RANDOM_SEED 1234u

extern const char usage_text[];

/* Print "clgraph: MESSAGE" (and the usage for usage_error); return the exit status. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads path into a new graph; prints the error and returns NULL on failure. */
clg_graph *load_graph(const char *path);
/* "f32[N, S, 128]", "i64[N, 16]": g names the symbolic sizes (NULL for
 * concrete shapes). */
const char *shape_str(const clg_graph *g, clg_dtype dtype, int rank, const int64_t *dims, char *buf, size_t size);
/* Element count of a concrete shape; 0 if it overflows size_t bytes. */
size_t element_count(int rank, const int64_t *dims);
const char *plural(long long n, const char *word, char *buf, size_t size);
/* The value of an option given as "--opt VALUE" or "--opt=VALUE"; NULL when
 * argv[*i] is not opt. Sets *missing when the value is absent. */
const char *option_value(int argc, char **argv, int *i, const char *opt, int *missing);
/* Parses a positive integer option value; 0 on success, else a usage error's status. */
int positive_option(const char *opt, const char *v, long long *out);

/* The symbolic sizes given on the command line: --batch B is N=B, and
 * --dim NAME=SIZE any symbol's. */
#define MAX_SIZES 16
typedef struct size_args {
    int n;
    const char *name[MAX_SIZES];
    long long value[MAX_SIZES];
} size_args;
/* Parses --batch and --dim; returns 1 when argv[*i] was one (*rc set to a
 * usage error's status on a bad value), else 0. */
int size_option(int argc, char **argv, int *i, size_args *sizes, int *rc);

/* Reads n inputs from files (n_files == n) or, with no files, generates them
 * with the given sizes (N is 1 unless given; other symbols must be given).
 * Sets *batch to N's size. Returns 0 or 1 (printed). quiet: no lines. */
int prepare_inputs(clg_graph *g, const char *const *files, int n_files, const size_args *sizes,
                   clg_tensor *inputs, int n, int64_t *batch, int quiet);
void free_inputs(clg_graph *g, int from_files, clg_tensor *inputs, int n);
/* Allocates every output at the shape these inputs give. Returns 0 or 1 (printed). */
int prepare_outputs(clg_graph *g, const clg_tensor *inputs, int n_inputs, clg_tensor *outputs, int n);
const char *output_name(clg_graph *g, int i);
/* Prints min/max/mean and the first values of output i. */
void summarize(clg_graph *g, int i, const clg_tensor *t);
/* Element k of t as a double, whatever its dtype. */
double tensor_value(const clg_tensor *t, size_t k);

/* Where a graph runs: the host reference executor, or an OpenCL device. */
typedef struct engine {
    int is_ref;
    clg_context *ctx;
    clg_model *model;
    char description[512];
} engine;

/* Opens spec ("ref", an OpenCL device spec, or NULL for CLGRAPH_DEVICE or
 * the default OpenCL device — the reference executor when there is none)
 * with the context settings in options and compiles g there at opt_level
 * and precision. Returns 0 or 1 (printed). */
int engine_open(engine *e, const char *spec, clg_graph *g, int context_flags,
                const clg_context_options *options, int opt_level, clg_precision precision);
/* --verbose (or CLGRAPH_LOG=builds): one line per program built, on stderr. */
extern int cli_verbose;
/* Parses --cache-dir DIR, --kernel-dir DIR, --gemm PATH or --verbose at argv[*i] into
 * options (--verbose: cli_verbose): 1 when it is one, 0 when not, -1 (usage error in *rc) when its
 * value is missing. */
int context_option(int argc, char **argv, int *i, clg_context_options *options, int *rc);
/* Parses -O0/-O1/-O2 or "-O N"/"--opt N" at argv[*i]: 1 and *level set when
 * it is one, 0 when not, -1 (usage error printed) when malformed. */
int opt_option(int argc, char **argv, int *i, int *level, int *rc);
/* Parses "--precision fp32|fp16|fp16-storage" at argv[*i], as opt_option. */
int precision_option(int argc, char **argv, int *i, clg_precision *precision, int *rc);
int cmd_compile(int argc, char **argv);
/* Whether path starts with a bundle's magic (docs/bundle.md). */
int file_is_bundle(const char *path);
/* The usage error for option (an -O or --precision given to run or bench)
 * with a bundle, which runs as it was compiled. */
int bundle_refuses(const char *option);
/* Opens spec as engine_open does and loads the bundle at path there
 * (nothing compiled or measured when it was built for that device); *g is
 * a copy of the bundle's graph for inputs and checks, destroyed by the
 * caller. A note (programs rebuilt elsewhere) goes to stderr. Returns 0 or
 * 1 (printed). */
int engine_open_bundle(engine *e, const char *spec, const char *path, int context_flags,
                       const clg_context_options *options, clg_graph **g);
/* Runs once; returns 0 or 1 (printed). */
int engine_run(engine *e, clg_graph *g, const clg_tensor *in, int n_in, clg_tensor *out, int n_out);
void engine_close(engine *e);

int cmd_bench(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif
