/* One process-wide lock around clgraph's calls into CLBlast (its GEMM
 * routines, and reading or overriding its parameters). CLBlast keeps
 * process-wide state (its parameter database with the overrides clg_tune
 * and stored tunings apply, its program and kernel caches), and under
 * ThreadSanitizer two threads creating models on one context (each timing
 * CLBlast GEMMs) were reported racing inside clblast::Database's
 * constructor (tests/test_threads.c; docs/runtime.md, "Threads"). Whether
 * that is a race in CLBlast or a report TSan cannot see through (CLBlast is
 * not instrumented) was not settled, so clgraph does not rely on CLBlast
 * being thread-safe: its calls hold this lock. A GEMM call only enqueues
 * work (microseconds of host time); models sharing a context share its
 * queue anyway. */
#include "runtime.h"

static pthread_mutex_t clblast_lock = PTHREAD_MUTEX_INITIALIZER;

void clg_clblast_lock(void) { pthread_mutex_lock(&clblast_lock); }

void clg_clblast_unlock(void) { pthread_mutex_unlock(&clblast_lock); }
