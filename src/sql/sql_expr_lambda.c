/* Evaluating lambdas: TRANSFORM, FILTER and REDUCE over arrays and maps.
 *
 * A lambda's body was compiled once with the query; evaluating it per
 * element only sets its parameters in a frame the body's parameter nodes
 * read (cx->lvars), so no name is looked up and nothing is compiled per
 * record. The frame travels with the evaluation context: a body is
 * evaluated with a context that extends the caller's (lctx), and only
 * body nodes read it. A frame holds the parameters of every enclosing lambda first
 * (a nested lambda sees its outer ones), then the invocation's own. NULL
 * handling follows ksqlDB's invocation functions: TRANSFORM and FILTER of
 * a NULL collection are NULL; REDUCE of a NULL collection is the initial
 * state, and a NULL initial state gives NULL. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sql/sql_expr_internal.h"

static int lerr(const mp_sql_cexpr *n, mp_fn_ctx *cx, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int lerr(const mp_sql_cexpr *n, mp_fn_ctx *cx, int code, const char *fmt, ...)
{
    char msg[MP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mp_error_set(cx->e, code, "line %u:%u: %s", (unsigned)n->pos.line,
                        (unsigned)n->pos.col, msg);
}

/* The context a lambda body is evaluated with: the caller's, plus the
 * frame. Parameter nodes only occur in bodies, so the context they see is
 * always one of these. */
typedef struct lctx {
    mp_fn_ctx cx;
    const mp_value *lvars;
} lctx;

static const mp_value *lvars_of(const mp_fn_ctx *cx)
{
    return ((const lctx *)(const void *)cx)->lvars;
}

int mp_sql_ev_lvar(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    (void)row;
    *out = lvars_of(cx)[n->slot];
    return 0;
}

/* A frame for node n's lambdas (np parameters after the enclosing ones,
 * which are copied in), and the context its bodies are evaluated with;
 * nothing to release afterwards (a large frame lives in the arena). */
typedef struct frame {
    mp_value local[16];
    mp_value *v;
    lctx lc;
} frame;

static int frame_open(frame *f, const mp_sql_cexpr *n, size_t np, mp_fn_ctx *cx)
{
    size_t size = n->slot + np;
    f->v = f->local;
    if (size > sizeof f->local / sizeof f->local[0]) {
        if (!cx->arena)
            return lerr(n, cx, MP_EINVAL, "evaluation needs an arena for its result");
        if (!(f->v = mp_arena_alloc(cx->arena, size * sizeof *f->v)))
            return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
    }
    if (n->slot)
        memcpy(f->v, lvars_of(cx), n->slot * sizeof *f->v);
    f->lc.cx = *cx;
    f->lc.lvars = f->v;
    return 0;
}

static void null_out(const mp_sql_cexpr *n, mp_value *out)
{
    *out = mp_v_null_of(n->type);
}

/* What TRANSFORM and FILTER share before their loop: the collection
 * (kids[0]) into *in, a result of n's type and in's length in the arena,
 * and the lambda frame with np parameters. Returns 1 when the collection
 * is NULL (*out is then the NULL result), 0 to go on, or an error. */
static int collection_open(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                           size_t np, mp_value *in, mp_value *r, frame *f, mp_value *out)
{
    int rc = mp_sql_kid(n->kids[0], row, cx, in);
    if (rc)
        return rc;
    if (in->null) {
        null_out(n, out);
        return 1;
    }
    if (!cx->arena)
        return lerr(n, cx, MP_EINVAL, "evaluation needs an arena for its result");
    if (n->type->kind == MP_TYPE_MAP ? mp_v_map(cx->arena, in->len, n->type->key, n->type->elem, r)
                                     : mp_v_array(cx->arena, in->len, n->type->elem, r))
        return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
    return frame_open(f, n, np, cx);
}

int mp_sql_ev_transform_array(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                              mp_value *out)
{
    mp_value a, r;
    frame f;
    int rc = collection_open(n, row, cx, 1, &a, &r, &f, out);
    if (rc)
        return rc < 0 ? rc : 0;
    for (uint32_t i = 0; i < a.len; i++) {
        f.v[n->slot] = a.u.items[i];
        if ((rc = mp_sql_kid(n->kids[1], row, &f.lc.cx, &r.u.items[i])))
            return rc;
    }
    *out = r;
    return 0;
}

int mp_sql_ev_transform_map(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                            mp_value *out)
{
    mp_value m, r;
    frame f;
    int rc = collection_open(n, row, cx, 2, &m, &r, &f, out);
    if (rc)
        return rc < 0 ? rc : 0;
    for (uint32_t i = 0; i < m.len; i++) {
        mp_value *k = &r.u.items[2 * i], *v = &r.u.items[2 * i + 1];
        f.v[n->slot] = m.u.items[2 * i];
        f.v[n->slot + 1] = m.u.items[2 * i + 1];
        if ((rc = mp_sql_kid(n->kids[1], row, &f.lc.cx, k)) ||
            (rc = mp_sql_kid(n->kids[2], row, &f.lc.cx, v)))
            return rc;
        /* A map's keys are set apart: a NULL or repeated key has no place
         * (ksqlDB fails the record the same way). */
        if (k->null)
            return lerr(n, cx, MP_EINPUT,
                        "TRANSFORM: the key lambda gave NULL; map keys cannot be NULL");
        for (uint32_t j = 0; j < i; j++) {
            int eq = 0;
            if ((rc = mp_sql_cmp_equal(k, &r.u.items[2 * j], &eq, cx)))
                return rc;
            if (eq == 0) {
                mp_buf b = {0};
                mp_value_format(k, &b);
                rc = lerr(n, cx, MP_EINPUT, "TRANSFORM: the key lambda gave the key %s twice",
                          b.data ? b.data : "?");
                mp_buf_free(&b);
                return rc;
            }
        }
    }
    *out = r;
    return 0;
}

/* FILTER keeps what the lambda says TRUE to (NULL drops, as FALSE). */
static int keep(const mp_sql_cexpr *body, const mp_value *row, mp_fn_ctx *cx, int *yes)
{
    mp_value c;
    int rc = mp_sql_kid(body, row, cx, &c);
    *yes = !rc && !c.null && c.u.b;
    return rc;
}

int mp_sql_ev_filter_array(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                           mp_value *out)
{
    mp_value a, r;
    frame f;
    int rc = collection_open(n, row, cx, 1, &a, &r, &f, out);
    if (rc)
        return rc < 0 ? rc : 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < a.len; i++) {
        int yes;
        f.v[n->slot] = a.u.items[i];
        if ((rc = keep(n->kids[1], row, &f.lc.cx, &yes)))
            return rc;
        if (yes)
            r.u.items[k++] = a.u.items[i];
    }
    r.len = k;
    *out = r;
    return 0;
}

int mp_sql_ev_filter_map(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                         mp_value *out)
{
    mp_value m, r;
    frame f;
    int rc = collection_open(n, row, cx, 2, &m, &r, &f, out);
    if (rc)
        return rc < 0 ? rc : 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < m.len; i++) {
        int yes;
        f.v[n->slot] = m.u.items[2 * i];
        f.v[n->slot + 1] = m.u.items[2 * i + 1];
        if ((rc = keep(n->kids[1], row, &f.lc.cx, &yes)))
            return rc;
        if (yes) {
            r.u.items[2 * k] = m.u.items[2 * i];
            r.u.items[2 * k + 1] = m.u.items[2 * i + 1];
            k++;
        }
    }
    r.len = k;
    *out = r;
    return 0;
}

/* REDUCE: the state starts as kids[1] and becomes the body's value after
 * each element (or entry). */
static int reduce(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out,
                  int is_map)
{
    mp_value c, s;
    int rc = mp_sql_kid(n->kids[0], row, cx, &c);
    if (rc || (rc = mp_sql_kid(n->kids[1], row, cx, &s)))
        return rc;
    if (s.null || c.null) {
        *out = s;
        return 0;
    }
    frame f;
    if ((rc = frame_open(&f, n, is_map ? 3 : 2, cx)))
        return rc;
    for (uint32_t i = 0; i < c.len; i++) {
        f.v[n->slot] = s;
        if (is_map) {
            f.v[n->slot + 1] = c.u.items[2 * i];
            f.v[n->slot + 2] = c.u.items[2 * i + 1];
        } else {
            f.v[n->slot + 1] = c.u.items[i];
        }
        if ((rc = mp_sql_kid(n->kids[2], row, &f.lc.cx, &s)))
            return rc;
    }
    *out = s;
    return 0;
}

int mp_sql_ev_reduce_array(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                           mp_value *out)
{
    return reduce(n, row, cx, out, 0);
}

int mp_sql_ev_reduce_map(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                         mp_value *out)
{
    return reduce(n, row, cx, out, 1);
}
