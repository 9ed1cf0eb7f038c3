/* The text format parser. Two phases: each line becomes a statement (syntax
 * only), then statements are ordered by their dependencies — so a cycle or
 * an undefined name is reported with its line — and added to the graph
 * through the same path as the builder API, which infers and checks shapes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name_map.h"
#include "weights_file.h"

typedef enum { ST_INPUT, ST_CONST, ST_NODE, ST_OUTPUT } stmt_kind;

typedef struct stmt {
    stmt_kind kind;
    int line;
    char *name;
    clg_op op;
    clg_attrs attrs;
    clg_shape shape;
    clg_dtype dtype; /* inputs and constants */
    int n_args;
    char **args;
    clg_const *constant;
} stmt;

typedef struct parser {
    clg_graph *g;
    const char *p, *end; /* cursor within the current line */
    int line;
    stmt *stmts;
    int n_stmts, cap_stmts;
    clg_name_map names; /* statement name -> statement index */
    char *weights;      /* the `weights "file"` path */
    int weights_line;
    /* The weights themselves, when they come from memory (a bundle's
     * section) rather than the file the statement names. */
    const void *weights_data;
    size_t weights_size;
    bool weights_in_memory;
} parser;

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-"

/* ---------------------------------------------------------------- lexing */

static clg_status syntax(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static clg_status syntax(parser *ps, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return clg_fail(ps->g, CLG_ERR_PARSE, "line %d: %s", ps->line, what);
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')) ps->p++;
}

static bool at_end(parser *ps)
{
    skip_space(ps);
    return ps->p >= ps->end || *ps->p == '#';
}

/* A description of what is at the cursor, for messages. */
static const char *found(parser *ps, char *buf, size_t size)
{
    if (at_end(ps)) return "end of line";
    unsigned char c = (unsigned char)*ps->p;
    if (c < 32 || c > 126) snprintf(buf, size, "byte 0x%02x", c);
    else snprintf(buf, size, "'%c'", c);
    return buf;
}

static clg_status expect(parser *ps, char c)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return CLG_OK;
    }
    char buf[32];
    return syntax(ps, "expected '%c', found %s", c, found(ps, buf, sizeof buf));
}

static bool accept(parser *ps, char c)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* A run of name characters; *len 0 when there is none. */
static const char *word(parser *ps, size_t *len)
{
    skip_space(ps);
    const char *s = ps->p;
    while (ps->p < ps->end && *ps->p && strchr(NAME_CHARS, *ps->p)) ps->p++;
    *len = (size_t)(ps->p - s);
    return s;
}

static bool word_is(const char *s, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(s, w, len) == 0;
}

static clg_status name(parser *ps, const char *what, char **out)
{
    size_t len;
    const char *s = word(ps, &len);
    if (!len) {
        char buf[32];
        return syntax(ps, "expected %s, found %s", what, found(ps, buf, sizeof buf));
    }
    *out = clg_malloc(ps->g, len + 1);
    if (!*out) return clg_fail(ps->g, CLG_ERR_OUT_OF_MEMORY, "line %d: out of memory", ps->line);
    memcpy(*out, s, len);
    (*out)[len] = '\0';
    return CLG_OK;
}

/* A number token: copies it out (the text is not NUL-terminated) and
 * converts it in full, so "1x" or "--2" are errors rather than prefixes.
 * An integer token is also read exactly from its digits into *exact (when
 * not NULL): a double loses precision past 2^53, and a value printed from
 * an imported model must read back as itself. */
static clg_status number_exact(parser *ps, double *out, bool *is_int, int64_t *exact)
{
    skip_space(ps);
    const char *s = ps->p;
    while (ps->p < ps->end && *ps->p && strchr("0123456789+-.eEinfatyINFATY", *ps->p)) ps->p++;
    size_t len = (size_t)(ps->p - s);
    char buf[64], f[32];
    if (!len || len >= sizeof buf) {
        ps->p = s;
        return syntax(ps, "expected a number, found %s", found(ps, f, sizeof f));
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *stop;
    errno = 0;
    *out = strtod(buf, &stop);
    if (*stop || stop == buf) return syntax(ps, "'%s' is not a number", buf);
    *is_int = strspn(buf, "+-0123456789") == len;
    if (*is_int && (errno == ERANGE || fabs(*out) > 9.0e18)) return syntax(ps, "integer %s is too large", buf);
    if (*is_int && exact) *exact = strtoll(buf, NULL, 10);
    return CLG_OK;
}

static clg_status number(parser *ps, double *out, bool *is_int) { return number_exact(ps, out, is_int, NULL); }

/* An integer token, read exactly. */
static clg_status integer(parser *ps, const char *what, int64_t *out)
{
    double v;
    bool is_int;
    clg_status s = number_exact(ps, &v, &is_int, out);
    if (s) return s;
    if (!is_int) return syntax(ps, "%s must be an integer", what);
    return CLG_OK;
}

/* A size in a shape or in Reshape's shape: a plain integer (a leading -
 * allowed, the caller checks the range) or a polynomial in symbols,
 *     dim    := term (('+' | '-') term)*
 *     term   := factor ('*' factor)*
 *     factor := INTEGER | SYMBOL
 * ("N", "S", "N*S", "2*S+1"). *symbolic says whether a symbol appears. */
static clg_status oom(parser *ps);

static bool symbol_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static clg_status dim_factor(parser *ps, int64_t *d, bool *symbolic)
{
    skip_space(ps);
    const char *start = ps->p;
    if (ps->p < ps->end && symbol_char(*ps->p, true)) {
        while (ps->p < ps->end && symbol_char(*ps->p, false)) ps->p++;
        clg_status s = clg_dim_symbol(ps->g, start, (size_t)(ps->p - start), d);
        if (s == CLG_ERR_UNSUPPORTED) return syntax(ps, "more than %d symbolic sizes", CLG_MAX_SYMBOLS);
        if (s == CLG_ERR_INVALID_ARGUMENT)
            return syntax(ps, "a symbol's name has at most %d characters", CLG_MAX_SYMBOL_NAME);
        if (s) return oom(ps);
        *symbolic = true;
        return CLG_OK;
    }
    int64_t v = 0;
    const char *digits = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        if (v > (INT64_MAX - 9) / 10) return syntax(ps, "dimension is too large");
        v = v * 10 + (*ps->p++ - '0');
    }
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
        return syntax(ps, "a dimension must be an integer");
    if (ps->p == digits) {
        char f[32];
        ps->p = start;
        return syntax(ps, "expected a dimension (a number or a symbol such as N), found %s", found(ps, f, sizeof f));
    }
    *d = v;
    return CLG_OK;
}

static clg_status dim_value(parser *ps, int64_t *d, bool *symbolic)
{
    *symbolic = false;
    skip_space(ps);
    /* A negative number stands alone (Reshape's -1); sizes are otherwise
     * never negative, and the arithmetic below takes negatives for codes. */
    if (ps->p < ps->end && *ps->p == '-') {
        ps->p++;
        clg_status s = dim_factor(ps, d, symbolic);
        if (s) return s;
        if (*symbolic) return syntax(ps, "a dimension cannot be negative");
        *d = -*d;
        return CLG_OK;
    }
    int64_t sum = 0;
    bool first = true, minus = false;
    for (;;) {
        int64_t term;
        clg_status s = dim_factor(ps, &term, symbolic);
        while (!s) {
            skip_space(ps);
            if (!accept(ps, '*')) break;
            int64_t f;
            if (!(s = dim_factor(ps, &f, symbolic)) && clg_dim_mul(ps->g, term, f, &term)) return syntax(ps, "this dimension is too large");
        }
        if (s) return s;
        if (first) sum = term;
        else if ((minus ? clg_dim_sub : clg_dim_add)(ps->g, sum, term, &sum))
            return syntax(ps, "this dimension cannot be negative or this large");
        first = false;
        skip_space(ps);
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) {
            minus = *ps->p++ == '-';
            continue;
        }
        break;
    }
    *d = sum;
    return CLG_OK;
}

/* f32[N, S, 128], i64[N, 16], i32[4], bool[N, 16] */
static clg_status shape(parser *ps, clg_shape *out, clg_dtype *dtype)
{
    size_t len;
    const char *t = word(ps, &len);
    if (!len) return syntax(ps, "expected a type such as f32[N, 128]");
    if (!clg_dtype_from_name(t, len, dtype))
        return syntax(ps, "unsupported type '%.*s' (f32, i64, i32, bool or f16)", (int)(len > 40 ? 40 : len), t);
    clg_status s = expect(ps, '[');
    if (s) return s;
    out->rank = 0;
    do {
        if (out->rank == CLG_MAX_RANK) return syntax(ps, "more than %d dimensions", CLG_MAX_RANK);
        int64_t d = 0;
        bool symbolic;
        if ((s = dim_value(ps, &d, &symbolic))) return s;
        /* A symbolic text may still name a number (S*0, S-S+2). */
        if ((!symbolic || !clg_dim_is_symbolic(d)) && d < 1)
            return syntax(ps, "dimension %lld must be positive", (long long)d);
        out->dims[out->rank++] = d;
    } while (accept(ps, ','));
    return expect(ps, ']');
}

/* ---------------------------------------------------------------- statements */

static stmt *new_stmt(parser *ps, stmt_kind kind)
{
    if (!clg_grow(ps->g, (void **)&ps->stmts, &ps->cap_stmts, ps->n_stmts + 1, sizeof *ps->stmts))
        return NULL;
    stmt *st = &ps->stmts[ps->n_stmts++];
    memset(st, 0, sizeof *st);
    st->kind = kind;
    st->line = ps->line;
    return st;
}

static clg_status oom(parser *ps)
{
    return clg_fail(ps->g, CLG_ERR_OUT_OF_MEMORY, "line %d: out of memory", ps->line);
}

static clg_status const_init(parser *ps, stmt *st)
{
    clg_graph *g = ps->g;
    /* Count with overflow checks: the shape is not validated yet. */
    int64_t count = 1;
    for (int i = 0; i < st->shape.rank; i++) {
        int64_t d = st->shape.dims[i];
        if (clg_dim_is_symbolic(d))
            return syntax(ps, "constant %s cannot have a symbolic dimension", st->name);
        if (d > ((int64_t)1 << 31) / count) return syntax(ps, "constant %s is too large", st->name);
        count *= d;
    }
    st->constant = clg_const_new(g, (size_t)count);
    if (!st->constant) return oom(ps);
    clg_init *in = &st->constant->init;
    clg_status s;
    double v;
    bool is_int;
    if (accept(ps, '[')) {
        in->kind = CLG_INIT_LIST;
        int64_t n = 0;
        do {
            if ((s = number(ps, &v, &is_int))) return s;
            if (n < count) st->constant->data[n] = (float)v;
            n++;
        } while (accept(ps, ','));
        if ((s = expect(ps, ']'))) return s;
        if (n != count)
            return syntax(ps, "constant %s: %lld values for a shape of %lld elements", st->name,
                          (long long)n, (long long)count);
        return CLG_OK;
    }
    size_t len;
    const char *w = word(ps, &len);
    if (word_is(w, len, "zeros")) {
        in->kind = CLG_INIT_ZEROS;
    } else if (word_is(w, len, "ones")) {
        in->kind = CLG_INIT_ONES;
    } else if (word_is(w, len, "full")) {
        in->kind = CLG_INIT_FULL;
        if ((s = expect(ps, '(')) || (s = number(ps, &v, &is_int)) || (s = expect(ps, ')'))) return s;
        in->value = (float)v;
    } else if (word_is(w, len, "random")) {
        in->kind = CLG_INIT_RANDOM;
        int64_t seed;
        if ((s = expect(ps, '(')) || (s = integer(ps, "the seed", &seed))) return s;
        if (seed < 0) return syntax(ps, "the seed must not be negative");
        in->seed = (uint64_t)seed;
        in->lo = -1.0f;
        in->hi = 1.0f;
        if (accept(ps, ',')) {
            if ((s = number(ps, &v, &is_int))) return s;
            in->lo = (float)v;
            if ((s = expect(ps, ',')) || (s = number(ps, &v, &is_int))) return s;
            in->hi = (float)v;
            if (!(in->lo < in->hi) || !isfinite(in->lo) || !isfinite(in->hi))
                return syntax(ps, "random range [%g, %g) is empty or not finite", in->lo, in->hi);
        }
        if ((s = expect(ps, ')'))) return s;
    } else if (word_is(w, len, "file")) {
        in->kind = CLG_INIT_FILE;
        int64_t off;
        if ((s = expect(ps, '(')) || (s = integer(ps, "the offset", &off)) || (s = expect(ps, ')')))
            return s;
        if (off < 0) return syntax(ps, "the offset must not be negative");
        in->offset = (uint64_t)off;
        return CLG_OK;
    } else {
        return syntax(ps, "expected zeros, ones, full(v), random(seed), file(offset) or a [list]");
    }
    clg_const_generate(st->constant);
    return CLG_OK;
}

/* input x: f32[N, 128]   |   const w: f32[128, 10] = random(1) */
static clg_status value_decl(parser *ps, stmt_kind kind)
{
    stmt *st = new_stmt(ps, kind);
    if (!st) return oom(ps);
    clg_status s;
    if ((s = name(ps, "a name", &st->name)) || (s = expect(ps, ':')) || (s = shape(ps, &st->shape, &st->dtype)))
        return s;
    st->op = kind == ST_INPUT ? CLG_OP_INPUT : CLG_OP_CONSTANT;
    if (kind == ST_CONST) {
        if ((s = expect(ps, '='))) return s;
        return const_init(ps, st);
    }
    return CLG_OK;
}

/* "text": \" and \\ are the only escapes; a string ends on its line. The
 * unescaped text goes to str (size bytes with the NUL). */
static clg_status string_value(parser *ps, char *str, size_t size)
{
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end) return syntax(ps, "unterminated string");
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"') break;
        if (c == '\\') {
            if (ps->p >= ps->end) return syntax(ps, "unterminated string");
            c = (unsigned char)*ps->p++;
            if (c != '"' && c != '\\') return syntax(ps, "unknown escape in a string (only \\\" and \\\\)");
        } else if ((c < 32 && c != '\t') || c == 127) {
            return syntax(ps, "byte 0x%02x in a string", c);
        }
        if (n + 1 >= size) return syntax(ps, "string longer than %zu bytes", size - 1);
        str[n++] = (char)c;
    }
    str[n] = '\0';
    return CLG_OK;
}

/* dims: the list may name symbolic sizes, written as Reshape's shape
 * keeps them (CLG_F_SHAPE: clg_reshape_value) or as Slice's starts and
 * ends do (clg_index_value); other fields take plain integers. */
static clg_status attr_value(parser *ps, clg_attr *v, char *str, size_t str_size, clg_attr_field dims)
{
    clg_status s;
    double d;
    bool is_int;
    memset(v, 0, sizeof *v);
    if (accept(ps, '"')) {
        v->kind = CLG_ATTR_STRING;
        v->s = str;
        return string_value(ps, str, str_size);
    }
    if (accept(ps, '[')) {
        v->kind = CLG_ATTR_INTS;
        if (accept(ps, ']')) return CLG_OK;
        do {
            if (v->count == CLG_MAX_ATTR_INTS) return syntax(ps, "too many values in a list");
            bool symbolic = false;
            bool sizes = dims == CLG_F_SHAPE || dims == CLG_F_STARTS || dims == CLG_F_ENDS;
            if (sizes) s = dim_value(ps, &v->ints[v->count], &symbolic);
            else s = integer(ps, "a list value", &v->ints[v->count]);
            if (s) return s;
            if (symbolic && !clg_dim_is_symbolic(v->ints[v->count])) symbolic = false; /* S-S+2 is 2 */
            if (symbolic)
                v->ints[v->count] = dims == CLG_F_SHAPE ? clg_reshape_value(v->ints[v->count])
                                                        : clg_index_value(v->ints[v->count]);
            v->count++;
        } while (accept(ps, ','));
        return expect(ps, ']');
    }
    int64_t exact;
    if ((s = number_exact(ps, &d, &is_int, &exact))) return s;
    if (is_int) {
        v->kind = CLG_ATTR_INT;
        v->count = 1;
        v->ints[0] = exact;
    } else {
        v->kind = CLG_ATTR_FLOAT;
        v->f = (float)d;
    }
    return CLG_OK;
}

/* y = Op(a, b) attr=value ... */
static clg_status node_stmt(parser *ps, const char *lhs, size_t lhs_len)
{
    stmt *st = new_stmt(ps, ST_NODE);
    if (!st) return oom(ps);
    st->name = clg_malloc(ps->g, lhs_len + 1);
    if (!st->name) return oom(ps);
    memcpy(st->name, lhs, lhs_len);
    st->name[lhs_len] = '\0';
    clg_status s;
    if ((s = expect(ps, '='))) return s;
    size_t len;
    const char *opname = word(ps, &len);
    if (!len) return syntax(ps, "expected an op name after '='");
    if (!clg_op_from_name(opname, len, &st->op))
        return syntax(ps, "node %s: unknown op '%.*s'", st->name, (int)(len > 40 ? 40 : len), opname);
    clg_attrs_default(st->op, &st->attrs);
    if ((s = expect(ps, '('))) return s;
    int cap = 0;
    if (!accept(ps, ')')) {
        do {
            if (!clg_grow(ps->g, (void **)&st->args, &cap, st->n_args + 1, sizeof *st->args)) return oom(ps);
            st->args[st->n_args] = NULL;
            if ((s = name(ps, "an input name", &st->args[st->n_args]))) return s;
            st->n_args++;
        } while (accept(ps, ','));
        if ((s = expect(ps, ')'))) return s;
    }
    bool seen[CLG_F_COUNT] = {false};
    while (!at_end(ps)) {
        const char *an = word(ps, &len);
        if (!len) {
            char buf[32];
            return syntax(ps, "node %s: expected an attribute, found %s", st->name, found(ps, buf, sizeof buf));
        }
        clg_attr_field f;
        if (!clg_field_lookup(st->op, an, len, &f))
            return clg_fail_node(ps->g, CLG_ERR_PARSE, ps->line, st->name, st->op,
                                 "unknown attribute '%.*s'", (int)(len > 40 ? 40 : len), an);
        if (seen[f])
            return clg_fail_node(ps->g, CLG_ERR_PARSE, ps->line, st->name, st->op,
                                 "attribute %s is given twice", clg_field_get(f)->name);
        seen[f] = true;
        clg_attr v;
        char str[CLG_MAX_STRING_ATTR];
        if ((s = expect(ps, '=')) || (s = attr_value(ps, &v, str, sizeof str, f))) return s;
        if ((s = clg_attr_set(ps->g, ps->line, st->name, st->op, &st->attrs, f, &v))) return s;
    }
    return CLG_OK;
}

static clg_status statement(parser *ps)
{
    size_t len;
    const char *w = word(ps, &len);
    clg_status s;
    if (!len) {
        char buf[32];
        return syntax(ps, "expected a statement, found %s", found(ps, buf, sizeof buf));
    }
    skip_space(ps);
    bool assignment = ps->p < ps->end && *ps->p == '=';
    if (!assignment && word_is(w, len, "input")) {
        s = value_decl(ps, ST_INPUT);
    } else if (!assignment && word_is(w, len, "const")) {
        s = value_decl(ps, ST_CONST);
    } else if (!assignment && word_is(w, len, "output")) {
        stmt *st = new_stmt(ps, ST_OUTPUT);
        if (!st) return oom(ps);
        s = name(ps, "an output name", &st->name);
    } else if (!assignment && word_is(w, len, "weights")) {
        if (ps->weights) return syntax(ps, "a second weights statement (first on line %d)", ps->weights_line);
        if ((s = expect(ps, '"'))) return s;
        const char *start = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p) ps->p++;
        if (ps->p >= ps->end || *ps->p != '"') return syntax(ps, "unterminated string");
        size_t n = (size_t)(ps->p - start);
        if (!n) return syntax(ps, "empty weights file name");
        ps->p++;
        if (!(ps->weights = clg_malloc(ps->g, n + 1))) return oom(ps);
        memcpy(ps->weights, start, n);
        ps->weights[n] = '\0';
        ps->weights_line = ps->line;
        s = CLG_OK;
    } else if (assignment) {
        s = node_stmt(ps, w, len);
    } else {
        return syntax(ps, "unknown statement '%.*s' (expected input, const, output, weights or NAME = Op(...))",
                      (int)(len > 40 ? 40 : len), w);
    }
    if (s) return s;
    if (!at_end(ps)) {
        char buf[32];
        return syntax(ps, "unexpected %s after the statement", found(ps, buf, sizeof buf));
    }
    return CLG_OK;
}

/* ---------------------------------------------------------------- resolving */

static const char *stmt_name(const void *ctx, int i) { return ((const parser *)ctx)->stmts[i].name; }

/* Index of the statement defining name, or -1. */
static int lookup(parser *ps, const char *name) { return clg_name_map_find(&ps->names, name, stmt_name, ps); }

static clg_status index_names(parser *ps)
{
    for (int i = 0; i < ps->n_stmts; i++) {
        stmt *st = &ps->stmts[i];
        if (st->kind == ST_OUTPUT) continue;
        int other = lookup(ps, st->name);
        if (other >= 0)
            return clg_fail_node(ps->g, CLG_ERR_INVALID_GRAPH, st->line, st->name, st->op,
                                 "duplicate name: already defined on line %d", ps->stmts[other].line);
        if (!clg_name_map_insert(ps->g, &ps->names, i, stmt_name, ps))
            return clg_fail(ps->g, CLG_ERR_OUT_OF_MEMORY, "out of memory indexing names");
    }
    return CLG_OK;
}

/* Depth-first order over the dependencies, iterative so deep chains cannot
 * overflow the stack; statements already in order keep their order. */
static clg_status order(parser *ps, int *out, int *n_out)
{
    clg_graph *g = ps->g;
    int n = ps->n_stmts;
    clg_status s = CLG_OK;
    char *state = clg_calloc(g, (size_t)n + 1, 1); /* 0 new, 1 on the stack, 2 done */
    int *stack = clg_malloc(g, ((size_t)n + 1) * sizeof *stack);
    int *next_arg = clg_calloc(g, (size_t)n + 1, sizeof *next_arg);
    if (!state || !stack || !next_arg) {
        s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory ordering the graph");
        goto done;
    }
    *n_out = 0;
    for (int root = 0; root < n && !s; root++) {
        if (ps->stmts[root].kind == ST_OUTPUT || state[root]) continue;
        int top = 0;
        stack[top++] = root;
        state[root] = 1;
        while (top > 0 && !s) {
            int cur = stack[top - 1];
            stmt *st = &ps->stmts[cur];
            if (next_arg[cur] < st->n_args) {
                const char *arg = st->args[next_arg[cur]++];
                int dep = lookup(ps, arg);
                if (dep < 0) {
                    s = clg_fail_node(g, CLG_ERR_INVALID_GRAPH, st->line, st->name, st->op,
                                      "input '%s' is not defined", arg);
                } else if (state[dep] == 1) {
                    /* The stack from dep up to cur is the cycle. */
                    char path[512];
                    size_t len = 0;
                    int from = top - 1;
                    while (stack[from] != dep) from--;
                    for (int k = from; k < top && len < sizeof path; k++)
                        len += (size_t)snprintf(path + len, sizeof path - len, "%s -> ",
                                                ps->stmts[stack[k]].name);
                    if (len < sizeof path) snprintf(path + len, sizeof path - len, "%s", arg);
                    s = clg_fail_node(g, CLG_ERR_INVALID_GRAPH, st->line, st->name, st->op,
                                      "cycle: %s", path);
                } else if (state[dep] == 0) {
                    state[dep] = 1;
                    stack[top++] = dep;
                }
            } else {
                state[cur] = 2;
                out[(*n_out)++] = cur;
                top--;
            }
        }
    }
done:
    clg_free(g, state);
    clg_free(g, stack);
    clg_free(g, next_arg);
    return s;
}

static clg_status build(parser *ps, const char *base_dir)
{
    clg_graph *g = ps->g;
    clg_status s;
    int n_order = 0;
    int *ord = clg_malloc(g, ((size_t)ps->n_stmts + 1) * sizeof *ord);
    int *idx = NULL;
    if (!ord) return clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory building the graph");
    if ((s = index_names(ps)) || (s = order(ps, ord, &n_order))) goto done;

    for (int k = 0; k < n_order && !s; k++) {
        stmt *st = &ps->stmts[ord[k]];
        int cap = 0;
        if (st->n_args && !clg_grow(g, (void **)&idx, &cap, st->n_args, sizeof *idx)) {
            s = clg_fail(g, CLG_ERR_OUT_OF_MEMORY, "out of memory building the graph");
            break;
        }
        for (int a = 0; a < st->n_args; a++) idx[a] = clg_find_value(g, st->args[a]);
        if (st->kind == ST_NODE)
            s = clg_graph_append(g, st->op, st->name, st->line, idx, st->n_args, &st->attrs, &st->shape,
                                 st->constant);
        else
            s = clg_graph_append_value(g, st->op, st->name, st->line, &st->shape, st->constant, st->dtype);
        if (!s) st->constant = NULL; /* the graph owns it now */
        clg_free(g, idx);
        idx = NULL;
    }
    for (int i = 0; i < ps->n_stmts && !s; i++) {
        stmt *st = &ps->stmts[i];
        if (st->kind != ST_OUTPUT) continue;
        if (clg_find_value(g, st->name) < 0) {
            s = clg_fail(g, CLG_ERR_INVALID_GRAPH, "line %d: output '%s' is not defined", st->line, st->name);
            break;
        }
        if ((s = clg_graph_add_output(g, st->name))) {
            char msg[sizeof g->errmsg]; /* the message is rewritten in place */
            snprintf(msg, sizeof msg, "%s", g->errmsg);
            s = clg_fail(g, s, "line %d: %s", st->line, msg);
        }
    }
    if (!s && g->n_outputs == 0)
        s = clg_fail(g, CLG_ERR_INVALID_GRAPH, "the graph has no outputs (add a line 'output NAME')");
    if (!s && ps->weights) {
        g->weights_path = ps->weights;
        ps->weights = NULL;
        s = ps->weights_in_memory ? clg_weights_from_memory(g, ps->weights_data, ps->weights_size, ps->weights_line)
                                  : clg_weights_load(g, base_dir, ps->weights_line);
        /* file(...) values arrive only now: check those of integer constants. */
        for (int i = 0; i < g->n_nodes && !s; i++) {
            const clg_node *n = &g->nodes[i];
            size_t bad;
            if (n->constant && n->constant->init.kind == CLG_INIT_FILE &&
                !clg_values_fit_dtype(n->constant->data, n->constant->count, n->dtype, &bad))
                s = clg_fail_node(g, CLG_ERR_INVALID_GRAPH, n->line, n->name, n->op,
                                  "element %zu (%.9g) from the weights file does not fit %s", bad,
                                  (double)n->constant->data[bad], clg_dtype_name(n->dtype));
        }
    } else if (!s) {
        for (int i = 0; i < g->n_nodes; i++) {
            const clg_node *n = &g->nodes[i];
            if (n->constant && n->constant->init.kind == CLG_INIT_FILE) {
                s = clg_fail_node(g, CLG_ERR_INVALID_GRAPH, n->line, n->name, n->op,
                                  "file(...) needs a weights \"FILE\" statement");
                break;
            }
        }
    }
done:
    clg_free(g, ord);
    return s;
}

static void free_parser(parser *ps)
{
    for (int i = 0; i < ps->n_stmts; i++) {
        stmt *st = &ps->stmts[i];
        clg_free(ps->g, st->name);
        for (int a = 0; a < st->n_args; a++) clg_free(ps->g, st->args[a]);
        clg_free(ps->g, st->args);
        clg_const_release(ps->g, st->constant);
    }
    clg_free(ps->g, ps->stmts);
    clg_free(ps->g, ps->weights);
    clg_name_map_free(ps->g, &ps->names);
}

static clg_status parse(clg_graph *g, const char *text, size_t len, const char *base_dir, const void *weights,
                        size_t weights_size, bool weights_in_memory)
{
    if (!g) return CLG_ERR_INVALID_ARGUMENT;
    if (!text && len) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "text is NULL");
    if (g->n_nodes || g->n_outputs) return clg_fail(g, CLG_ERR_INVALID_ARGUMENT, "the graph is not empty");
    clg_clear_error(g);
    parser ps = {0};
    ps.g = g;
    ps.weights_data = weights;
    ps.weights_size = weights_size;
    ps.weights_in_memory = weights_in_memory;
    clg_status s = CLG_OK;
    const char *p = text, *end = text ? text + len : NULL;
    for (ps.line = 1; p && p < end && !s; ps.line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        ps.p = p;
        ps.end = eol;
        if (!at_end(&ps)) s = statement(&ps);
        p = eol + 1;
    }
    if (!s) s = build(&ps, base_dir);
    free_parser(&ps);
    if (s) clg_graph_clear(g);
    return s;
}

clg_status clg_graph_parse(clg_graph *g, const char *text, size_t len, const char *base_dir)
{
    return parse(g, text, len, base_dir, NULL, 0, false);
}

clg_status clg_graph_parse_with_weights(clg_graph *g, const char *text, size_t len, const void *weights,
                                        size_t weights_size)
{
    return parse(g, text, len, NULL, weights, weights_size, true);
}
