/* Shared by the runtime tests: one OpenCL context per test executable, and
 * a differential check of a graph on the device against the reference
 * executor with seeded random inputs. */
#ifndef CLG_TEST_DEVICE_CHECK_H
#define CLG_TEST_DEVICE_CHECK_H

#include "clgraph.h"

/* The context all tests of an executable share; NULL when the machine has no
 * OpenCL device (tests then skip). Created on first use, CLGRAPH_DEVICE
 * respected. */
clg_context *test_context(void);
/* Which GEMM path later test_context calls give (clblast, generated,
 * generated:NAME; NULL: the environment's, as clg_context_create): a
 * context of its own per path, kept until test_context_release. */
void test_set_gemm(const char *gemm);
/* The path set, "measure" when none, for messages. */
const char *test_gemm_path(void);
void test_context_release(void);
/* A cmocka group teardown that releases the shared context. */
int test_teardown(void **state);

/* Parses text (fails the test with the library's message on error). */
clg_graph *test_parse(const char *text);

/* Runs g on the device and on the reference executor at batch, with inputs
 * uniform in [-1, 1) from seed (integer inputs in [-2, 2], bool ones 0 or
 * 1, f16 ones multiples of 1/1024; outputs in their dtypes), and returns the worst output error: the
 * largest |device - reference| divided by the largest |reference| of that
 * output (at least 1e-6), so a tolerance of 1e-4 means "agrees to four
 * digits relative to the tensor's scale". Fails the test on any error. */
double test_device_error(clg_context *ctx, clg_graph *g, int64_t batch, unsigned seed);

/* The same with the model compiled at opt_level (clg_model_create_ex); the
 * reference always runs g itself, unoptimized. */
double test_device_error_at(clg_context *ctx, clg_graph *g, int64_t batch, unsigned seed, int opt_level);

/* The same at a precision (clg_model_options.precision). A model the
 * library refuses returns -1 with its status in *refused and its message
 * copied to why (size bytes) when refused is not NULL; otherwise a
 * refusal fails the test. */
double test_device_error_prec(clg_context *ctx, clg_graph *g, int64_t batch, unsigned seed, int opt_level,
                              clg_precision precision, clg_status *refused, char *why, size_t size);

/* Parses text and checks it on the device against the reference at batches
 * 1, 3 and 17, compiled at -O0 (every op lowered as written) and at the
 * default level (skips without a device); fails with the text, the level
 * and the batch when the error passes tol. */
void test_check_text(const char *text, double tol);

/* Launches per inference of the graph in text compiled at opt_level, at
 * batch 1 (skips without a device). */
int test_launches_at(const char *text, int opt_level);

#endif
