/* A trivial kernel for the runtime's own tests: contexts, the program
 * cache and kernel embedding. Not used by any model. */
__kernel void clg_selftest_add(__global const float *a, __global const float *b,
                               __global float *c, float scale)
{
    size_t i = get_global_id(0);
    c[i] = a[i] + scale * b[i];
}
