/* Constant data: reference-counted blocks and the inline generators. */
#include <math.h>
#include <string.h>

#include "ir.h"

clg_const *clg_const_new(clg_graph *g, size_t count)
{
    clg_const *c = clg_calloc(g, 1, sizeof *c);
    if (!c) return NULL;
    c->data = clg_malloc(g, count * sizeof *c->data);
    if (!c->data) {
        clg_free(g, c);
        return NULL;
    }
    c->refs = 1;
    c->count = count;
    return c;
}

void clg_const_release(clg_graph *g, clg_const *c)
{
    if (!c || --c->refs > 0) return;
    clg_free(g, c->data);
    clg_free(g, c);
}

/* SplitMix64: tiny, fast and well distributed; documented in docs/ir.md so
 * other tools can reproduce random(seed) weights exactly. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void clg_const_generate(clg_const *c)
{
    const clg_init *in = &c->init;
    switch (in->kind) {
    case CLG_INIT_ZEROS: memset(c->data, 0, c->count * sizeof *c->data); break;
    case CLG_INIT_ONES:
    case CLG_INIT_FULL: {
        float v = in->kind == CLG_INIT_ONES ? 1.0f : in->value;
        for (size_t i = 0; i < c->count; i++) c->data[i] = v;
        break;
    }
    case CLG_INIT_RANDOM: {
        uint64_t state = in->seed;
        double span = (double)in->hi - (double)in->lo;
        for (size_t i = 0; i < c->count; i++) {
            double u = (double)(splitmix64(&state) >> 40) / (double)(1u << 24); /* [0, 1) */
            float v = (float)((double)in->lo + span * u);
            /* Rounding to float can reach hi (random(3747935, 0.5, 1.5) did):
             * keep the range half-open. */
            c->data[i] = v < in->hi ? v : nextafterf(in->hi, in->lo);
        }
        break;
    }
    case CLG_INIT_LIST:
    case CLG_INIT_FILE: break; /* filled by whoever made them */
    }
}

void clg_const_simplify_init(clg_const *c)
{
    /* One value reads as well in a list: [-2.5], not full(-2.5). */
    if (c->init.kind != CLG_INIT_LIST || c->count < 2) return;
    float v = c->data[0];
    if (v != v) return; /* full(nan) may not give back the same NaN bits */
    for (size_t i = 1; i < c->count; i++)
        if (memcmp(&c->data[i], &v, sizeof v) != 0) return;
    if (v == 0.0f && !signbit(v)) c->init.kind = CLG_INIT_ZEROS;
    else if (v == 1.0f) c->init.kind = CLG_INIT_ONES;
    else {
        c->init.kind = CLG_INIT_FULL;
        c->init.value = v;
    }
}
