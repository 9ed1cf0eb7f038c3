/* Internal interface of GEMM tuning: CLBlast's kernel parameters per device,
 * their file next to the program cache (tuning.c), the kernel tuners
 * clgraph drives (tune/tuners.c) and the search that picks what to store
 * by timing CLBlast's GEMM routine itself (tune/routine.c). */
#ifndef CLG_TUNING_H
#define CLG_TUNING_H

#include "runtime.h"

/* ---------------------------------------------------------------- kernels */

/* The CLBlast kernel families clgraph tunes, in the order the file lists
 * them. Their parameter names are CLBlast 1.5's; CLBlastOverrideParameters
 * wants every name of a family at once. */
typedef enum clg_tune_kernel_id {
    CLG_TK_COPY,
    CLG_TK_PAD,
    CLG_TK_TRANSPOSE,
    CLG_TK_PADTRANSPOSE,
    CLG_TK_XGEMM_DIRECT,
    CLG_TK_XGEMM,
    CLG_TK_GEMM_ROUTINE, /* XGEMM_MIN_INDIRECT_SIZE: direct kernel below size³, Xgemm above */
    CLG_TK_COUNT
} clg_tune_kernel_id;

#define CLG_TK_MAX_PARAMS 16

typedef struct clg_tune_kernel {
    const char *name;      /* CLBlast's kernel name ("Xgemm") */
    const char *tuner;     /* the clblast-utils program that tunes it, NULL for none */
    int n_params;
    const char *params[CLG_TK_MAX_PARAMS]; /* sorted by name, as CLBlast prints them */
} clg_tune_kernel;

CLG_INTERNAL const clg_tune_kernel *clg_tune_kernel_get(clg_tune_kernel_id id);
/* The kernel called name, or -1. */
CLG_INTERNAL int clg_tune_kernel_find(const char *name);
/* Index of a parameter in the kernel's list, or -1. */
CLG_INTERNAL int clg_tune_param_find(clg_tune_kernel_id id, const char *param);

/* Whether values (in the kernel's parameter order) could have come from
 * CLBlast's tuner: every value in its range and the divisibility rules the
 * kernel's code relies on. A file is never trusted to hold valid ones.
 * On false, why (may be NULL) names the first rule broken. */
CLG_INTERNAL bool clg_tune_params_valid(clg_tune_kernel_id id, const size_t *values, char *why,
                                        size_t why_size);

/* ---------------------------------------------------------------- parameter sets and files */

/* A device's tuned parameters: the kernels it overrides and what the tune
 * measured. */
typedef struct clg_tuning {
    bool has[CLG_TK_COUNT];
    size_t values[CLG_TK_COUNT][CLG_TK_MAX_PARAMS];
    int64_t created;
    char level[16];
    double seconds;
    int n_shapes;
    clg_tune_shape shapes[CLG_TUNE_MAX_SHAPES];
} clg_tuning;

/* The text of a parameter file for device (see tuning.c for the format),
 * allocated with a; *len excludes the NUL. CLG_ERR_INVALID_ARGUMENT for
 * names with newlines or tabs, which the format cannot hold. */
CLG_INTERNAL clg_status clg_tuning_format(const clg_allocator *a, const clg_tuning *t,
                                          const clg_device_info *device, char **text, size_t *len);
/* Parses and checks a file's text for device. On failure returns false and
 * says why ("checksum mismatch", "tuned for another device", ...). */
CLG_INTERNAL bool clg_tuning_parse(const char *text, size_t len, const clg_device_info *device,
                                   clg_tuning *out, char *why, size_t why_size);

/* <dir>/tuning-<hash of platform, device and driver>.txt, allocated with a. */
CLG_INTERNAL char *clg_tuning_path(const clg_allocator *a, const char *dir,
                                   const clg_device_info *device);
/* Reads the device's file from dir. false with a reason when there is none
 * or it is not valid for device. */
CLG_INTERNAL bool clg_tuning_load(const clg_allocator *a, const char *dir,
                                  const clg_device_info *device, clg_tuning *out, char *why,
                                  size_t why_size);
/* Writes the file under a temporary name and renames it into place. */
CLG_INTERNAL clg_status clg_tuning_store(const clg_allocator *a, const char *dir,
                                         const clg_device_info *device, const clg_tuning *t,
                                         char *err, size_t err_size);

/* Hands one kernel's values to CLBlast for device (single precision).
 * Returns CLBlast's status (0 on success). */
CLG_INTERNAL int clg_tuning_override(cl_device_id device, clg_tune_kernel_id id,
                                     const size_t *values);
/* The values CLBlast now uses for one kernel on device (single precision),
 * in the kernel's parameter order: its database's, or the last override.
 * Returns CLBlast's status (0 on success). */
CLG_INTERNAL int clg_tuning_retrieve(cl_device_id device, clg_tune_kernel_id id, size_t *values);
/* Overrides every kernel t has, and remembers that device now runs t (the
 * overrides live in CLBlast, per process and device, not per context). */
CLG_INTERNAL int clg_tuning_apply_set(cl_device_id device, const clg_tuning *t);
/* Records that device runs no stored set any more (a tune changed it). */
CLG_INTERNAL void clg_tuning_forget(cl_device_id device);
/* What CLBlast runs for device in this process: a hash of the stored set
 * applied to it, 0 for CLBlast's own parameters (or after a tune failed
 * half-way). Decisions cached from timing CLBlast (gemm/choice.c) should
 * include it in their key: a tune changes which side wins. */
CLG_INTERNAL uint64_t clg_tuning_state(cl_device_id device);

/* Applies the stored parameters of ctx's device when there are valid ones,
 * unless CLGRAPH_TUNING=0. Called when a context opens; never fails it: a
 * missing or bad file only means CLBlast's own parameters. */
CLG_INTERNAL void clg_tuning_apply(clg_context *ctx);

/* ---------------------------------------------------------------- kernel tuners (tune/tuners.c) */

/* One configuration a kernel tuner measured and verified. */
typedef struct clg_tuner_result {
    size_t values[CLG_TK_MAX_PARAMS]; /* the kernel's parameter order */
    double ms;
} clg_tuner_result;

typedef struct clg_tuner_results {
    clg_tuner_result *items; /* fastest first once the run ends */
    int count, cap;
    int announced;  /* configurations the tuner said it would try */
    int exit_code;  /* the tuner's exit status, -1 when it was stopped or killed */
} clg_tuner_results;

/* Called for each measured row; total is what the tuner announced so far. */
typedef void (*clg_tuner_row_fn)(void *user, int done, int total, double best_ms);

/* Where the clblast-utils program lives: $CLGRAPH_CLBLAST_TUNERS/NAME when
 * that is set (set to 0 or empty: nowhere), else the first NAME on PATH.
 * NULL when not found (or out of memory). */
CLG_INTERNAL char *clg_tuner_find(const clg_allocator *a, const char *program);

/* Runs a kernel tuner on ctx's device, in scratch (its working directory and
 * its PoCL cache, so hundreds of throwaway kernels stay out of the user's),
 * on an m×n×k problem sampling 1/fraction of its configurations. Stops it
 * after max_results verified rows (0: no limit) or max_seconds. Rows that
 * did not verify are dropped. The tuner's own failure is not an error:
 * results may just be empty. Errors: out of memory, or the process could
 * not be started (CLG_ERR_IO, message in err). */
CLG_INTERNAL clg_status clg_tuner_run(const clg_allocator *a, const char *program_path,
                                      clg_tune_kernel_id id, const clg_device_info *device,
                                      size_t m, size_t n, size_t k, double fraction,
                                      int max_results, double max_seconds, const char *scratch,
                                      clg_tuner_row_fn row, void *user, clg_tuner_results *out,
                                      char *err, size_t err_size);
CLG_INTERNAL void clg_tuner_results_free(const clg_allocator *a, clg_tuner_results *r);

/* What a tuner's output has said so far. */
typedef struct clg_tuner_parser {
    clg_tune_kernel_id id;
    int names[CLG_TK_MAX_PARAMS]; /* the "Parameters explored" order; -1: unknown name */
    int n_names;
    int announced; /* configurations it said it would try */
    int pending;   /* the last "Found N", which a following "Exploring M" replaces */
} clg_tuner_parser;

CLG_INTERNAL void clg_tuner_parser_init(clg_tuner_parser *p, clg_tune_kernel_id id);
/* Parses one line of a tuner's output (modified in place) and fills r for
 * a row whose results the tuner verified and whose values are valid:
 * returns 1 for such a row, 0 for any other line. */
CLG_INTERNAL int clg_tuner_parse_line(clg_tuner_parser *p, char *line, clg_tuner_result *r);

/* Removes a directory tree (scratch directories). Best effort. */
CLG_INTERNAL void clg_remove_tree(const char *path);

/* ---------------------------------------------------------------- the search (tune/routine.c) */

/* One GEMM the search times, row-major as clg_plan_enqueue calls it. */
typedef struct clg_tune_gemm {
    size_t m, n, k;
    bool trans_b;
} clg_tune_gemm;

/* What a tune does: the levels are plans; tests use a tiny one. */
typedef struct clg_tune_plan {
    const char *level;
    bool use_tuners;            /* drive clblast_tuner_* when they are installed */
    size_t kernel_size;         /* m = n = k for the GEMM kernel tuners */
    size_t copy_size;           /* m = n for the copy/pad/transpose tuners */
    double fraction[CLG_TK_COUNT]; /* 1/fraction of each tuner's space; 0 skips it */
    double seconds[CLG_TK_COUNT];  /* time limit of each tuner */
    int max_results;            /* verified rows per tuner (0: no limit) */
    int candidates;             /* tuner's Xgemm configurations timed in the GEMM routine */
    int rounds;                 /* timing rounds over all of them (the first builds) */
    int n_seeds;                /* known-good Xgemm configurations to also time (max 8) */
    int n_shapes;
    const clg_tune_gemm *shapes;
} clg_tune_plan;

/* The plan of a public level. */
CLG_INTERNAL void clg_tune_plan_for_level(clg_tune_level level, clg_tune_plan *plan);
/* The known-good Xgemm configurations (for tests). */
CLG_INTERNAL int clg_tune_seed_count(void);
CLG_INTERNAL const size_t *clg_tune_seed(int i);

/* clg_tune with an explicit plan. */
CLG_INTERNAL clg_status clg_tune_run(clg_context *ctx, const clg_tune_plan *plan,
                                     clg_tune_progress_fn progress, void *user,
                                     clg_tune_info *result);

/* Fills info from a parameter set (tuned, created, level, shapes, parameters). */
CLG_INTERNAL void clg_tuning_describe(const clg_tuning *t, clg_tune_info *info);

#endif
