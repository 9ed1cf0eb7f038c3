/* Symbolic dimensions: the graph's named symbols (N, S, ...) and an interned
 * table of the polynomials in them that shapes name (N*S, S+1, 2*S). A
 * shape holds a size or a negative code, code -1 - e for table entry e, so
 * shape functions compare dims by value and only the few that compute a
 * size (Reshape, Flatten, Concat, the importer's shape arithmetic) call the
 * arithmetic here. Entry 0 is always N: CLG_BATCH, -1, keeps its meaning.
 *
 * The table only grows: a code handed out stays valid for the graph's life,
 * and a copy of the graph copies the table, so its shapes keep their codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---------------------------------------------------------------- the table */

static clg_status add_symbol(clg_graph *g, const char *name, size_t len, int *k)
{
    clg_dim_table *t = &g->dims;
    if (t->n_syms >= CLG_MAX_SYMBOLS) return CLG_ERR_UNSUPPORTED;
    if (!clg_grow(g, (void **)&t->names, &t->cap_syms, t->n_syms + 1, sizeof *t->names))
        return CLG_ERR_OUT_OF_MEMORY;
    char *copy = clg_malloc(g, len + 1);
    if (!copy) return CLG_ERR_OUT_OF_MEMORY;
    memcpy(copy, name, len);
    copy[len] = '\0';
    t->names[t->n_syms] = copy;
    *k = t->n_syms++;
    return CLG_OK;
}

static clg_status add_expr(clg_graph *g, const clg_dim_expr *e, int *index)
{
    clg_dim_table *t = &g->dims;
    if (!clg_grow(g, (void **)&t->exprs, &t->cap_exprs, t->n_exprs + 1, sizeof *t->exprs))
        return CLG_ERR_OUT_OF_MEMORY;
    t->exprs[t->n_exprs] = *e;
    *index = t->n_exprs++;
    return CLG_OK;
}

static clg_dim_expr symbol_expr(int k)
{
    clg_dim_expr e;
    memset(&e, 0, sizeof e);
    e.n = 1;
    e.t[0].coef = 1;
    e.t[0].n = 1;
    e.t[0].sym[0] = k;
    return e;
}

/* Entry 0 is N from the start. */
static clg_status seed(clg_graph *g)
{
    if (g->dims.n_exprs) return CLG_OK;
    int k, e;
    clg_status s = add_symbol(g, "N", 1, &k);
    if (s) return s;
    clg_dim_expr n = symbol_expr(k);
    return add_expr(g, &n, &e);
}

clg_status clg_dim_table_copy(clg_graph *dst, const clg_graph *src)
{
    clg_dim_table_free(dst);
    const clg_dim_table *t = &src->dims;
    for (int k = 0; k < t->n_syms; k++) {
        int at;
        clg_status s = add_symbol(dst, t->names[k], strlen(t->names[k]), &at);
        if (s) return s;
    }
    for (int e = 0; e < t->n_exprs; e++) {
        int at;
        clg_status s = add_expr(dst, &t->exprs[e], &at);
        if (s) return s;
    }
    dst->dims.n_fresh = t->n_fresh;
    return CLG_OK;
}

void clg_dim_table_free(clg_graph *g)
{
    clg_dim_table *t = &g->dims;
    for (int k = 0; k < t->n_syms; k++) clg_free(g, t->names[k]);
    clg_free(g, t->names);
    clg_free(g, t->exprs);
    memset(t, 0, sizeof *t);
}

int clg_dim_symbol_count(const clg_graph *g) { return g->dims.n_syms ? g->dims.n_syms : 1; }

const char *clg_dim_symbol_name(const clg_graph *g, int k)
{
    if (k == 0 && !g->dims.n_syms) return "N";
    return k >= 0 && k < g->dims.n_syms ? g->dims.names[k] : "?";
}

/* ---------------------------------------------------------------- expressions */

static int term_cmp(const clg_dim_term *a, const clg_dim_term *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (int i = 0; i < a->n; i++)
        if (a->sym[i] != b->sym[i]) return a->sym[i] < b->sym[i] ? -1 : 1;
    return 0;
}

static clg_dim_expr constant_expr(int64_t v)
{
    clg_dim_expr e;
    memset(&e, 0, sizeof e);
    if (v) {
        e.n = 1;
        e.t[0].coef = v;
    }
    return e;
}

/* d as an expression; false for a code g does not hold. */
static bool expr_of(const clg_graph *g, int64_t d, clg_dim_expr *e)
{
    if (d >= 0) {
        *e = constant_expr(d);
        return true;
    }
    int entry = CLG_DIM_ENTRY(d);
    if (entry == 0 && !g->dims.n_exprs) {
        *e = symbol_expr(0);
        return true;
    }
    if (entry >= g->dims.n_exprs) return false;
    *e = g->dims.exprs[entry];
    return true;
}

/* Sorts and merges n raw terms into e; false when more than the table
 * holds remain or a coefficient overflows. */
static bool normalise(const clg_dim_term *raw, int n, clg_dim_expr *e)
{
    clg_dim_term t[CLG_DIM_MAX_TERMS * CLG_DIM_MAX_TERMS];
    memcpy(t, raw, (size_t)n * sizeof *t);
    for (int i = 1; i < n; i++) /* insertion sort: a handful of terms */
        for (int j = i; j > 0 && term_cmp(&t[j - 1], &t[j]) > 0; j--) {
            clg_dim_term x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    memset(e, 0, sizeof *e);
    for (int i = 0; i < n;) {
        clg_dim_term sum = t[i];
        int j = i + 1;
        for (; j < n && term_cmp(&t[j], &sum) == 0; j++)
            if (__builtin_add_overflow(sum.coef, t[j].coef, &sum.coef)) return false;
        i = j;
        if (sum.coef == 0) continue;
        if (e->n == CLG_DIM_MAX_TERMS) return false;
        for (int f = sum.n; f < CLG_DIM_MAX_FACTORS; f++) sum.sym[f] = 0;
        e->t[e->n++] = sum;
    }
    return true;
}

/* Two canonical expressions alike: member by member, never memcmp (the
 * padding after each int is not copied with the struct by value: a Release
 * build interned N a second time at entry 1, found by valgrind). */
static bool expr_equal(const clg_dim_expr *a, const clg_dim_expr *b)
{
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++) {
        const clg_dim_term *x = &a->t[i], *y = &b->t[i];
        if (x->coef != y->coef || x->n != y->n) return false;
        for (int f = 0; f < x->n; f++)
            if (x->sym[f] != y->sym[f]) return false;
    }
    return true;
}

/* The code of e: a plain size when e is a constant, else its entry. */
static clg_status intern(clg_graph *g, const clg_dim_expr *e, int64_t *d)
{
    if (e->n == 0) {
        *d = 0;
        return CLG_OK;
    }
    if (e->n == 1 && e->t[0].n == 0) {
        if (e->t[0].coef < 0) return CLG_ERR_UNSUPPORTED; /* a negative size */
        *d = e->t[0].coef;
        return CLG_OK;
    }
    /* When every term of the highest degree is negative (1 - S, -N*S + S),
     * the size is negative for large sizes: no size. (Whether a term is
     * highest does not depend on the order symbols were made in, so a
     * graph printed and parsed again is accepted alike.) */
    int top = 0;
    bool positive = false;
    for (int i = 0; i < e->n; i++) top = e->t[i].n > top ? e->t[i].n : top;
    for (int i = 0; i < e->n; i++) positive |= e->t[i].n == top && e->t[i].coef > 0;
    if (!positive) return CLG_ERR_UNSUPPORTED;
    clg_status s = seed(g);
    if (s) return s;
    for (int i = 0; i < g->dims.n_exprs; i++)
        if (expr_equal(&g->dims.exprs[i], e)) {
            *d = CLG_DIM_CODE(i);
            return CLG_OK;
        }
    int at;
    if ((s = add_expr(g, e, &at))) return s;
    *d = CLG_DIM_CODE(at);
    return CLG_OK;
}

static bool valid_symbol_name(const char *s, size_t len)
{
    if (!len || len > CLG_MAX_SYMBOL_NAME || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static int find_symbol(const clg_graph *g, const char *name, size_t len)
{
    for (int k = 0; k < g->dims.n_syms; k++)
        if (strlen(g->dims.names[k]) == len && memcmp(g->dims.names[k], name, len) == 0) return k;
    return -1;
}

clg_status clg_dim_symbol(clg_graph *g, const char *name, size_t len, int64_t *d)
{
    if (!valid_symbol_name(name, len)) return CLG_ERR_INVALID_ARGUMENT;
    clg_status s = seed(g);
    if (s) return s;
    int k = find_symbol(g, name, len);
    if (k < 0 && (s = add_symbol(g, name, len, &k))) return s;
    clg_dim_expr e = symbol_expr(k);
    return intern(g, &e, d);
}

clg_status clg_dim_fresh(clg_graph *g, int64_t *d)
{
    /* While bound, the caller's array of sizes has one entry per symbol
     * that existed: a new one would be read past its end. */
    if (g->binding) return CLG_ERR_UNSUPPORTED;
    clg_status s = seed(g);
    if (s) return s;
    char name[32];
    int len;
    do len = snprintf(name, sizeof name, "_%d", ++g->dims.n_fresh);
    while (find_symbol(g, name, (size_t)len) >= 0);
    int k;
    if ((s = add_symbol(g, name, (size_t)len, &k))) return s;
    clg_dim_expr e = symbol_expr(k);
    return intern(g, &e, d);
}

int clg_dim_symbol_of(const clg_graph *g, int64_t d)
{
    clg_dim_expr e;
    if (d >= 0 || !expr_of(g, d, &e)) return -1;
    return e.n == 1 && e.t[0].coef == 1 && e.t[0].n == 1 ? e.t[0].sym[0] : -1;
}

static clg_status add_sub(clg_graph *g, int64_t a, int64_t b, bool negate, int64_t *r)
{
    clg_dim_expr x, y, z;
    if (!expr_of(g, a, &x) || !expr_of(g, b, &y)) return CLG_ERR_UNSUPPORTED;
    clg_dim_term raw[2 * CLG_DIM_MAX_TERMS];
    int n = 0;
    for (int i = 0; i < x.n; i++) raw[n++] = x.t[i];
    for (int i = 0; i < y.n; i++) {
        raw[n] = y.t[i];
        if (negate && __builtin_sub_overflow((int64_t)0, raw[n].coef, &raw[n].coef)) return CLG_ERR_UNSUPPORTED;
        n++;
    }
    if (!normalise(raw, n, &z)) return CLG_ERR_UNSUPPORTED;
    return intern(g, &z, r);
}

clg_status clg_dim_add(clg_graph *g, int64_t a, int64_t b, int64_t *r)
{
    if (a >= 0 && b >= 0) return __builtin_add_overflow(a, b, r) ? CLG_ERR_UNSUPPORTED : CLG_OK;
    return add_sub(g, a, b, false, r);
}

clg_status clg_dim_sub(clg_graph *g, int64_t a, int64_t b, int64_t *r)
{
    if (a >= 0 && b >= 0) {
        if (a < b) return CLG_ERR_UNSUPPORTED;
        *r = a - b;
        return CLG_OK;
    }
    return add_sub(g, a, b, true, r);
}

clg_status clg_dim_mul(clg_graph *g, int64_t a, int64_t b, int64_t *r)
{
    if (a >= 0 && b >= 0) return __builtin_mul_overflow(a, b, r) ? CLG_ERR_UNSUPPORTED : CLG_OK;
    clg_dim_expr x, y, z;
    if (!expr_of(g, a, &x) || !expr_of(g, b, &y)) return CLG_ERR_UNSUPPORTED;
    clg_dim_term raw[CLG_DIM_MAX_TERMS * CLG_DIM_MAX_TERMS];
    int n = 0;
    for (int i = 0; i < x.n; i++)
        for (int j = 0; j < y.n; j++) {
            const clg_dim_term *p = &x.t[i], *q = &y.t[j];
            clg_dim_term t;
            memset(&t, 0, sizeof t);
            if (p->n + q->n > CLG_DIM_MAX_FACTORS || __builtin_mul_overflow(p->coef, q->coef, &t.coef))
                return CLG_ERR_UNSUPPORTED;
            /* merge two ascending factor lists */
            int u = 0, v = 0;
            while (u < p->n || v < q->n)
                t.sym[t.n++] = v >= q->n || (u < p->n && p->sym[u] <= q->sym[v]) ? p->sym[u++] : q->sym[v++];
            raw[n++] = t;
        }
    if (!normalise(raw, n, &z)) return CLG_ERR_UNSUPPORTED;
    return intern(g, &z, r);
}

/* Removes q's factors from p's (both ascending); false unless q's are a
 * sub-multiset of p's. */
static bool divide_factors(const clg_dim_term *p, const clg_dim_term *q, clg_dim_term *out)
{
    out->n = 0;
    int v = 0;
    for (int u = 0; u < p->n; u++) {
        if (v < q->n && p->sym[u] == q->sym[v]) v++;
        else out->sym[out->n++] = p->sym[u];
    }
    return v == q->n;
}

clg_status clg_dim_div(clg_graph *g, int64_t a, int64_t b, int64_t *r)
{
    if (b == 0) return CLG_ERR_UNSUPPORTED;
    if (a >= 0 && b > 0) {
        if (a % b) return CLG_ERR_UNSUPPORTED;
        *r = a / b;
        return CLG_OK;
    }
    if (a == b) {
        *r = 1;
        return CLG_OK;
    }
    clg_dim_expr x, y, z;
    if (!expr_of(g, a, &x) || !expr_of(g, b, &y)) return CLG_ERR_UNSUPPORTED;
    if (y.n != 1) return CLG_ERR_UNSUPPORTED; /* only a monomial divisor */
    const clg_dim_term *q = &y.t[0];
    clg_dim_term raw[CLG_DIM_MAX_TERMS];
    for (int i = 0; i < x.n; i++) {
        memset(&raw[i], 0, sizeof raw[i]);
        if (x.t[i].coef % q->coef || !divide_factors(&x.t[i], q, &raw[i])) return CLG_ERR_UNSUPPORTED;
        raw[i].coef = x.t[i].coef / q->coef;
    }
    if (!normalise(raw, x.n, &z)) return CLG_ERR_UNSUPPORTED;
    return intern(g, &z, r);
}

bool clg_dim_differ(const clg_graph *g, int64_t a, int64_t b)
{
    clg_dim_expr x, y, z;
    if (a == b || !expr_of(g, a, &x) || !expr_of(g, b, &y)) return false;
    clg_dim_term raw[2 * CLG_DIM_MAX_TERMS];
    int n = 0;
    for (int i = 0; i < x.n; i++) raw[n++] = x.t[i];
    for (int i = 0; i < y.n; i++) {
        raw[n] = y.t[i];
        if (__builtin_sub_overflow((int64_t)0, raw[n].coef, &raw[n].coef)) return false;
        n++;
    }
    if (!normalise(raw, n, &z) || z.n == 0) return false;
    /* Sizes are positive: a difference whose terms all have one sign is
     * never 0. */
    for (int i = 1; i < z.n; i++)
        if ((z.t[i].coef > 0) != (z.t[0].coef > 0)) return false;
    return true;
}

bool clg_dim_eval(const clg_graph *g, int64_t d, const int64_t *values, int64_t *out)
{
    if (d >= 0) {
        *out = d;
        return true;
    }
    clg_dim_expr e;
    if (!expr_of(g, d, &e)) return false;
    int64_t sum = 0;
    for (int i = 0; i < e.n; i++) {
        int64_t v = e.t[i].coef;
        for (int f = 0; f < e.t[i].n; f++) {
            int64_t x = values ? values[e.t[i].sym[f]] : -1;
            if (x < 0 || __builtin_mul_overflow(v, x, &v)) return false;
        }
        if (__builtin_add_overflow(sum, v, &sum)) return false;
    }
    *out = sum;
    return true;
}

/* A term's factors written in name order ("N*S"), so the text does not
 * depend on the order symbols were made in (a graph printed and parsed
 * again makes them in another). */
static void term_names(const clg_graph *g, const clg_dim_term *t, char *buf, size_t size)
{
    const char *names[CLG_DIM_MAX_FACTORS];
    for (int f = 0; f < t->n; f++) {
        const char *x = clg_dim_symbol_name(g, t->sym[f]);
        int k = f;
        for (; k > 0 && strcmp(names[k - 1], x) > 0; k--) names[k] = names[k - 1];
        names[k] = x;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (int f = 0; f < t->n && n < size; f++) n += (size_t)snprintf(buf + n, size - n, "%s%s", f ? "*" : "", names[f]);
}

const char *clg_dim_str(const clg_graph *g, int64_t d, char *buf, size_t size)
{
    if (!size) return buf;
    clg_dim_expr e;
    if (d >= 0) {
        snprintf(buf, size, "%lld", (long long)d);
        return buf;
    }
    if (!g || !expr_of(g, d, &e)) {
        snprintf(buf, size, "?");
        return buf;
    }
    /* Highest degree first, positive terms before negative ones (so the
     * text never starts with a minus, which a dimension may not), then by
     * the factors' names, the constant last: "N*S+2*S-1", "T-S". */
    char text[CLG_DIM_MAX_TERMS][4 * 64];
    int order[CLG_DIM_MAX_TERMS];
    for (int i = 0; i < e.n; i++) {
        term_names(g, &e.t[i], text[i], sizeof text[i]);
        int k = i;
        for (; k > 0; k--) {
            const clg_dim_term *a = &e.t[order[k - 1]], *b = &e.t[i];
            bool ap = a->coef > 0, bp = b->coef > 0;
            if (a->n > b->n || (a->n == b->n && (ap > bp || (ap == bp && strcmp(text[order[k - 1]], text[i]) <= 0))))
                break;
            order[k] = order[k - 1];
        }
        order[k] = i;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (int j = 0; j < e.n && n < size; j++) {
        const clg_dim_term *t = &e.t[order[j]];
        int64_t c = t->coef;
        const char *sign = c < 0 ? "-" : j == 0 ? "" : "+";
        unsigned long long mag = c < 0 ? 0ull - (unsigned long long)c : (unsigned long long)c;
        if (t->n == 0 || mag != 1)
            n += (size_t)snprintf(buf + n, size - n, "%s%llu%s%s", sign, mag, t->n ? "*" : "", text[order[j]]);
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%s", sign, text[order[j]]);
    }
    return buf;
}
