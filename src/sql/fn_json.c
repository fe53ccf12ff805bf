/* JSON built-ins: EXTRACTJSONFIELD, JSON_ARRAY_CONTAINS, JSON_ARRAY_LENGTH,
 * JSON_CONCAT, JSON_ITEMS, JSON_KEYS, JSON_RECORDS, IS_JSON_STRING,
 * TO_JSON_STRING.
 *
 * ksqlDB reads JSON with Jackson configured for exact decimals, so a
 * number keeps its digits ("1.50" stays "1.50"); a general JSON library
 * would turn it into a double. Hence the small parser here, which keeps
 * every number's text and writes values back compactly as Jackson does
 * (no spaces; strings escaped; object keys in first-seen order, a repeated
 * key taking the last value). It reads one value and allows only
 * whitespace after it. */
#include <stdlib.h>
#include <string.h>

#include "data/sql_text.h"
#include "sql/fn_builtin.h"

#define JSON_MAX_DEPTH 512

typedef enum { J_NULL, J_TRUE, J_FALSE, J_NUM, J_STR, J_ARR, J_OBJ } jkind;

typedef struct jval jval;
struct jval {
    jkind k;
    const char *s; /* J_NUM: the number's text; J_STR: decoded UTF-8 */
    size_t n;
    jval *items; /* J_ARR: count values; J_OBJ: count (key, value) pairs */
    size_t count;
};

typedef struct jparser {
    const char *p, *end;
    mp_arena *a;
    const char *err;
    int depth;
} jparser;

static void jskip(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jlit(jparser *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) >= n && memcmp(j->p, w, n) == 0) {
        j->p += n;
        return true;
    }
    return false;
}

static int jhex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static bool jstring(jparser *j, const char **out, size_t *outlen)
{
    j->p++; /* the opening quote */
    mp_buf b = {0};
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) {
            j->err = "unescaped control character in a string";
            goto fail;
        }
        if (c != '\\') {
            mp_buf_putc(&b, (char)c);
            j->p++;
            continue;
        }
        if (j->end - j->p < 2) {
            j->err = "unterminated escape";
            goto fail;
        }
        char e = j->p[1];
        j->p += 2;
        switch (e) {
        case '"': mp_buf_putc(&b, '"'); break;
        case '\\': mp_buf_putc(&b, '\\'); break;
        case '/': mp_buf_putc(&b, '/'); break;
        case 'b': mp_buf_putc(&b, '\b'); break;
        case 'f': mp_buf_putc(&b, '\f'); break;
        case 'n': mp_buf_putc(&b, '\n'); break;
        case 'r': mp_buf_putc(&b, '\r'); break;
        case 't': mp_buf_putc(&b, '\t'); break;
        case 'u': {
            if (j->end - j->p < 4 || jhex4(j->p) < 0) {
                j->err = "bad \\u escape";
                goto fail;
            }
            uint32_t cp = (uint32_t)jhex4(j->p);
            j->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u' && jhex4(j->p + 2) >= 0xDC00 && jhex4(j->p + 2) <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)jhex4(j->p + 2) - 0xDC00);
                j->p += 6;
            }
            mp_fn_utf8_put(&b, cp);
            break;
        }
        default: j->err = "bad escape"; goto fail;
        }
    }
    if (j->p >= j->end) {
        j->err = "unterminated string";
        goto fail;
    }
    j->p++;
    if (b.oom) {
        j->err = "out of memory";
        goto fail;
    }
    *out = mp_arena_strndup(j->a, b.data ? b.data : "", b.len);
    *outlen = b.len;
    mp_buf_free(&b);
    if (!*out) {
        j->err = "out of memory";
        return false;
    }
    return true;
fail:
    mp_buf_free(&b);
    return false;
}

static bool jdigits(jparser *j)
{
    const char *st = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > st;
}

static bool jnumber(jparser *j, jval *v)
{
    const char *st = j->p;
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0') {
        j->p++;
    } else if (!jdigits(j)) {
        j->err = "bad number";
        return false;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jdigits(j)) {
            j->err = "bad number";
            return false;
        }
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jdigits(j)) {
            j->err = "bad number";
            return false;
        }
    }
    v->k = J_NUM;
    v->s = st;
    v->n = (size_t)(j->p - st);
    return true;
}

/* Growable list of values in malloc'ed memory, moved into the arena. */
typedef struct jlist {
    jval *v;
    size_t n, cap;
} jlist;

static bool jlist_push(jlist *l, const jval *x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        jval *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *x;
    return true;
}

static bool jvalue(jparser *j, jval *v);

static bool jfinish_list(jparser *j, jlist *l, jval *v, jkind k, size_t count)
{
    v->k = k;
    v->count = count;
    v->items = mp_arena_alloc(j->a, (l->n ? l->n : 1) * sizeof *v->items);
    if (!v->items) {
        free(l->v);
        j->err = "out of memory";
        return false;
    }
    if (l->n)
        memcpy(v->items, l->v, l->n * sizeof *v->items);
    free(l->v);
    return true;
}

static bool jarray(jparser *j, jval *v)
{
    j->p++;
    jlist l = {0};
    jskip(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return jfinish_list(j, &l, v, J_ARR, 0);
    }
    for (;;) {
        jval x;
        if (!jvalue(j, &x))
            goto fail;
        if (!jlist_push(&l, &x)) {
            j->err = "out of memory";
            goto fail;
        }
        jskip(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return jfinish_list(j, &l, v, J_ARR, l.n);
        }
        j->err = "expected ',' or ']'";
        goto fail;
    }
fail:
    free(l.v);
    return false;
}

static bool jobject(jparser *j, jval *v)
{
    j->p++;
    jlist l = {0};
    jskip(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return jfinish_list(j, &l, v, J_OBJ, 0);
    }
    for (;;) {
        jskip(j);
        jval key = {0}, x;
        if (j->p >= j->end || *j->p != '"') {
            j->err = "expected a field name";
            goto fail;
        }
        key.k = J_STR;
        if (!jstring(j, &key.s, &key.n))
            goto fail;
        jskip(j);
        if (j->p >= j->end || *j->p != ':') {
            j->err = "expected ':'";
            goto fail;
        }
        j->p++;
        if (!jvalue(j, &x))
            goto fail;
        /* a repeated key keeps its place and takes the new value */
        size_t k;
        for (k = 0; k < l.n; k += 2)
            if (l.v[k].n == key.n && memcmp(l.v[k].s, key.s, key.n) == 0)
                break;
        if (k < l.n) {
            l.v[k + 1] = x;
        } else if (!jlist_push(&l, &key) || !jlist_push(&l, &x)) {
            j->err = "out of memory";
            goto fail;
        }
        jskip(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return jfinish_list(j, &l, v, J_OBJ, l.n / 2);
        }
        j->err = "expected ',' or '}'";
        goto fail;
    }
fail:
    free(l.v);
    return false;
}

static bool jvalue(jparser *j, jval *v)
{
    memset(v, 0, sizeof *v);
    jskip(j);
    if (j->p >= j->end) {
        j->err = "unexpected end of input";
        return false;
    }
    if (++j->depth > JSON_MAX_DEPTH) {
        j->err = "nested too deeply";
        return false;
    }
    bool ok;
    char c = *j->p;
    if (c == '{')
        ok = jobject(j, v);
    else if (c == '[')
        ok = jarray(j, v);
    else if (c == '"') {
        v->k = J_STR;
        ok = jstring(j, &v->s, &v->n);
    } else if (c == '-' || (c >= '0' && c <= '9'))
        ok = jnumber(j, v);
    else if (jlit(j, "true")) {
        v->k = J_TRUE;
        ok = true;
    } else if (jlit(j, "false")) {
        v->k = J_FALSE;
        ok = true;
    } else if (jlit(j, "null")) {
        v->k = J_NULL;
        ok = true;
    } else {
        j->err = "unexpected character";
        ok = false;
    }
    j->depth--;
    return ok;
}

typedef enum { JP_OK, JP_EMPTY, JP_BAD } jresult;

/* Parses s; JP_EMPTY for text that is empty or only whitespace (Jackson's
 * missing node). */
static jresult jparse(mp_arena *a, const char *s, size_t n, jval *v, const char **err)
{
    jparser j = {s, s + n, a, NULL, 0};
    jskip(&j);
    if (j.p == j.end)
        return JP_EMPTY;
    if (!jvalue(&j, v)) {
        *err = j.err;
        return JP_BAD;
    }
    jskip(&j);
    if (j.p != j.end) {
        *err = "unexpected text after the value";
        return JP_BAD;
    }
    return JP_OK;
}

static int json_error(mp_fn_ctx *cx, const char *name, const mp_value *s, const char *err)
{
    if (err && strcmp(err, "out of memory") == 0)
        return mp_fn_oom(cx);
    return mp_fn_fail(cx, MP_EINPUT, name, "Invalid JSON format: %.*s (%s)",
                      (int)(s->len > 200 ? 200 : s->len), s->u.str, err ? err : "?");
}

static void jwrite(const jval *v, mp_buf *b)
{
    switch (v->k) {
    case J_NULL: mp_buf_puts(b, "null"); break;
    case J_TRUE: mp_buf_puts(b, "true"); break;
    case J_FALSE: mp_buf_puts(b, "false"); break;
    case J_NUM: mp_buf_append(b, v->s, v->n); break;
    case J_STR: mp_json_quote(v->s, v->n, b); break;
    case J_ARR:
        mp_buf_putc(b, '[');
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                mp_buf_putc(b, ',');
            jwrite(&v->items[i], b);
        }
        mp_buf_putc(b, ']');
        break;
    case J_OBJ:
        mp_buf_putc(b, '{');
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                mp_buf_putc(b, ',');
            jwrite(&v->items[2 * i], b);
            mp_buf_putc(b, ':');
            jwrite(&v->items[2 * i + 1], b);
        }
        mp_buf_putc(b, '}');
        break;
    }
}

/* A JSON value as ksqlDB's JsonNode.toString() prints it (strings quoted). */
static int jtext(mp_fn_ctx *cx, const jval *v, mp_value *out)
{
    mp_buf b = {0};
    jwrite(v, &b);
    return mp_fn_ret_buf(cx, &b, out);
}

/* ---- EXTRACTJSONFIELD ---- */

typedef struct jtoken {
    const char *s;
    size_t n;
} jtoken;

/* ksqlDB's JSONPath subset: $ followed by .name, ['name'], ["name"] or [n]. */
static int jpath(mp_fn_ctx *cx, const char *p, size_t n, jtoken **toks, size_t *ntok)
{
    size_t i = 0, cap = 8, k = 0;
    jtoken *t = mp_arena_alloc(cx->arena, cap * sizeof *t);
    if (!t)
        return mp_fn_oom(cx);
    if (n == 0 || p[0] != '$')
        return mp_fn_fail(cx, MP_EINPUT, "EXTRACTJSONFIELD",
                          "invalid JSONPath '%.*s': it must start with $", (int)n, p);
    i = 1;
    while (i < n) {
        jtoken tok;
        if (p[i] == '.') {
            size_t st = ++i;
            while (i < n && p[i] != '.' && p[i] != '[')
                i++;
            if (i == st)
                goto bad;
            tok = (jtoken){p + st, i - st};
        } else if (p[i] == '[') {
            i++;
            if (i < n && (p[i] == '\'' || p[i] == '"')) {
                char q = p[i++];
                size_t st = i;
                while (i < n && p[i] != q)
                    i++;
                if (i + 1 >= n || p[i + 1] != ']')
                    goto bad;
                tok = (jtoken){p + st, i - st};
                i += 2;
            } else {
                size_t st = i;
                while (i < n && p[i] != ']')
                    i++;
                if (i >= n || i == st)
                    goto bad;
                tok = (jtoken){p + st, i - st};
                i++;
            }
        } else {
            goto bad;
        }
        if (k == cap) {
            jtoken *nt = mp_arena_realloc(cx->arena, t, cap * sizeof *t, 2 * cap * sizeof *t);
            if (!nt)
                return mp_fn_oom(cx);
            t = nt;
            cap *= 2;
        }
        t[k++] = tok;
    }
    *toks = t;
    *ntok = k;
    return 0;
bad:
    return mp_fn_fail(cx, MP_EINPUT, "EXTRACTJSONFIELD", "invalid JSONPath '%.*s' at offset %zu",
                      (int)n, p, i);
}

static bool parse_index(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 10)
        return false;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1)
            return false;
    }
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return v <= INT32_MAX;
}

static int extract_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    jtoken *toks = NULL;
    size_t nt = 0;
    int rc = jpath(cx, a[1].u.str, a[1].len, &toks, &nt);
    if (rc)
        return rc;
    jval root;
    const char *err = NULL;
    jresult r = jparse(cx->arena, a[0].u.str, a[0].len, &root, &err);
    if (r == JP_BAD)
        return json_error(cx, "EXTRACTJSONFIELD", &a[0], err);
    if (r == JP_EMPTY) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    const jval *cur = &root;
    for (size_t i = 0; i < nt && cur; i++) {
        const jval *next = NULL;
        if (cur->k == J_ARR) {
            int64_t idx;
            if (!parse_index(toks[i].s, toks[i].n, &idx)) {
                *out = mp_v_null(MP_TYPE_STRING);
                return 0;
            }
            if (idx >= 0 && (size_t)idx < cur->count)
                next = &cur->items[idx];
        } else if (cur->k == J_OBJ) {
            for (size_t k = 0; k < cur->count; k++) {
                const jval *key = &cur->items[2 * k];
                if (key->n == toks[i].n && memcmp(key->s, toks[i].s, key->n) == 0) {
                    next = &cur->items[2 * k + 1];
                    break;
                }
            }
        }
        cur = next;
    }
    if (!cur) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    if (cur->k == J_STR)
        return mp_fn_ret_str(cx, cur->s, cur->n, out);
    return jtext(cx, cur, out);
}
static const mp_fn_sig sigs_extract[] = {{"ss", "s", extract_fn, false}};
MP_FN_SIG_BIND(extract, "EXTRACTJSONFIELD")

/* ---- JSON_ARRAY_LENGTH, JSON_KEYS, JSON_RECORDS, JSON_ITEMS ---- */

/* Parses a[0]; *v NULL (and 0 returned) when the text is empty. */
static int parse_arg(mp_fn_ctx *cx, const char *name, const mp_value *s, jval *root, const jval **v)
{
    const char *err = NULL;
    jresult r = jparse(cx->arena, s->u.str, s->len, root, &err);
    if (r == JP_BAD)
        return json_error(cx, name, s, err);
    *v = r == JP_OK ? root : NULL;
    return 0;
}

static int json_array_length_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                const void *d)
{
    jval root;
    const jval *v;
    int rc = parse_arg(cx, "JSON_ARRAY_LENGTH", &a[0], &root, &v);
    if (rc)
        return rc;
    *out = v && v->k == J_ARR ? mp_v_int((int32_t)v->count) : mp_v_null(MP_TYPE_INTEGER);
    return 0;
}
static const mp_fn_sig sigs_json_array_length[] = {{"s", "i", json_array_length_fn, false}};
MP_FN_SIG_BIND(json_array_length, "JSON_ARRAY_LENGTH")

static int json_keys_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    jval root;
    const jval *v;
    int rc = parse_arg(cx, "JSON_KEYS", &a[0], &root, &v);
    if (rc)
        return rc;
    if (!v || v->k != J_OBJ) {
        *out = mp_v_null(MP_TYPE_ARRAY);
        return 0;
    }
    mp_value arr;
    if (mp_v_array(cx->arena, v->count, NULL, &arr))
        return mp_fn_oom(cx);
    for (size_t i = 0; i < v->count; i++)
        if (mp_v_string(cx->arena, v->items[2 * i].s, v->items[2 * i].n, &arr.u.items[i]))
            return mp_fn_oom(cx);
    *out = arr;
    return 0;
}
static const mp_fn_sig sigs_json_keys[] = {{"s", "[s", json_keys_fn, false}};
MP_FN_SIG_BIND(json_keys, "JSON_KEYS")

static int json_records_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    jval root;
    const jval *v;
    int rc = parse_arg(cx, "JSON_RECORDS", &a[0], &root, &v);
    if (rc)
        return rc;
    if (!v || v->k != J_OBJ) {
        *out = mp_v_null(MP_TYPE_MAP);
        return 0;
    }
    mp_value m;
    if (mp_v_map(cx->arena, v->count, NULL, NULL, &m))
        return mp_fn_oom(cx);
    for (size_t i = 0; i < v->count; i++) {
        if (mp_v_string(cx->arena, v->items[2 * i].s, v->items[2 * i].n, &m.u.items[2 * i]))
            return mp_fn_oom(cx);
        rc = jtext(cx, &v->items[2 * i + 1], &m.u.items[2 * i + 1]);
        if (rc)
            return rc;
    }
    *out = m;
    return 0;
}
static const mp_fn_sig sigs_json_records[] = {{"s", "{ss", json_records_fn, false}};
MP_FN_SIG_BIND(json_records, "JSON_RECORDS")

static int json_items_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    jval root;
    const jval *v;
    int rc = parse_arg(cx, "JSON_ITEMS", &a[0], &root, &v);
    if (rc)
        return rc;
    if (!v || v->k != J_ARR) {
        *out = mp_v_null(MP_TYPE_ARRAY);
        return 0;
    }
    mp_value arr;
    if (mp_v_array(cx->arena, v->count, NULL, &arr))
        return mp_fn_oom(cx);
    for (size_t i = 0; i < v->count; i++)
        if ((rc = jtext(cx, &v->items[i], &arr.u.items[i])))
            return rc;
    *out = arr;
    return 0;
}
static const mp_fn_sig sigs_json_items[] = {{"s", "[s", json_items_fn, false}};
MP_FN_SIG_BIND(json_items, "JSON_ITEMS")

/* ---- IS_JSON_STRING ---- */

static int is_json_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    bool ok = false;
    if (!a[0].null) {
        jval v;
        const char *err = NULL;
        mp_arena *ar = cx->arena;
        ok = jparse(ar, a[0].u.str, a[0].len, &v, &err) == JP_OK;
        if (err && strcmp(err, "out of memory") == 0)
            return mp_fn_oom(cx);
    }
    *out = mp_v_bool(ok);
    return 0;
}
static const mp_fn_sig sigs_is_json[] = {{"s", "b", is_json_fn, true}};
MP_FN_SIG_BIND(is_json, "IS_JSON_STRING")

/* ---- JSON_CONCAT ---- */

static int json_concat_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    jval *vals = mp_arena_alloc(cx->arena, n * sizeof *vals);
    if (!vals)
        return mp_fn_oom(cx);
    bool all_obj = true;
    for (size_t i = 0; i < n; i++) {
        const char *err = NULL;
        if (a[i].null || jparse(cx->arena, a[i].u.str, a[i].len, &vals[i], &err) != JP_OK) {
            if (err && strcmp(err, "out of memory") == 0)
                return mp_fn_oom(cx);
            *out = mp_v_null(MP_TYPE_STRING);
            return 0;
        }
        all_obj = all_obj && vals[i].k == J_OBJ;
    }
    mp_buf b = {0};
    if (all_obj) {
        /* union of the keys, a later object's value winning in place */
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += vals[i].count;
        const jval **kv = mp_arena_alloc(cx->arena, (2 * total + 1) * sizeof *kv);
        if (!kv)
            return mp_fn_oom(cx);
        size_t nk = 0;
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < vals[i].count; k++) {
                const jval *key = &vals[i].items[2 * k];
                size_t m;
                for (m = 0; m < nk; m++)
                    if (kv[2 * m]->n == key->n && memcmp(kv[2 * m]->s, key->s, key->n) == 0)
                        break;
                kv[2 * m] = key;
                kv[2 * m + 1] = key + 1;
                if (m == nk)
                    nk++;
            }
        }
        mp_buf_putc(&b, '{');
        for (size_t m = 0; m < nk; m++) {
            if (m)
                mp_buf_putc(&b, ',');
            jwrite(kv[2 * m], &b);
            mp_buf_putc(&b, ':');
            jwrite(kv[2 * m + 1], &b);
        }
        mp_buf_putc(&b, '}');
    } else {
        /* arrays concatenated; any other value as a one-element array */
        mp_buf_putc(&b, '[');
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            size_t cnt = vals[i].k == J_ARR ? vals[i].count : 1;
            for (size_t k = 0; k < cnt; k++) {
                if (!first)
                    mp_buf_putc(&b, ',');
                first = false;
                jwrite(vals[i].k == J_ARR ? &vals[i].items[k] : &vals[i], &b);
            }
        }
        mp_buf_putc(&b, ']');
    }
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_json_concat[] = {{"ss*", "s", json_concat_fn, true}};
MP_FN_SIG_BIND(json_concat, "JSON_CONCAT")

/* ---- JSON_ARRAY_CONTAINS ---- */

static bool num_is_integral(const jval *v)
{
    return !memchr(v->s, '.', v->n) && !memchr(v->s, 'e', v->n) && !memchr(v->s, 'E', v->n);
}

static bool jmatches(const jval *el, const mp_value *x)
{
    if (x->null)
        return el->k == J_NULL;
    switch (x->kind) {
    case MP_TYPE_BOOLEAN: return (el->k == J_TRUE && x->u.b) || (el->k == J_FALSE && !x->u.b);
    case MP_TYPE_STRING:
        return el->k == J_STR && el->n == x->len && memcmp(el->s, x->u.str, x->len) == 0;
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT: {
        if (el->k != J_NUM || !num_is_integral(el))
            return false;
        char buf[32];
        if (el->n >= sizeof buf)
            return false;
        memcpy(buf, el->s, el->n);
        buf[el->n] = '\0';
        char *end;
        long long v = strtoll(buf, &end, 10);
        return *end == '\0' && v == mp_fn_num_int64(x);
    }
    case MP_TYPE_DOUBLE:
    case MP_TYPE_DECIMAL: {
        if (el->k != J_NUM || (x->kind == MP_TYPE_DOUBLE && num_is_integral(el)))
            return false;
        char buf[64];
        if (el->n >= sizeof buf)
            return false;
        memcpy(buf, el->s, el->n);
        buf[el->n] = '\0';
        return strtod(buf, NULL) == mp_fn_num_double(x);
    }
    default: return false;
    }
}

static int json_array_contains_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                  const void *d)
{
    bool found = false;
    if (!a[0].null) {
        jval v;
        const char *err = NULL;
        if (jparse(cx->arena, a[0].u.str, a[0].len, &v, &err) == JP_OK && v.k == J_ARR) {
            for (size_t i = 0; i < v.count && !found; i++)
                found = jmatches(&v.items[i], &a[1]);
        } else if (err && strcmp(err, "out of memory") == 0) {
            return mp_fn_oom(cx);
        }
    }
    *out = mp_v_bool(found);
    return 0;
}
static const mp_fn_sig sigs_json_array_contains[] = {
    {"sb", "b", json_array_contains_fn, true}, {"si", "b", json_array_contains_fn, true},
    {"sl", "b", json_array_contains_fn, true}, {"sd", "b", json_array_contains_fn, true},
    {"ss", "b", json_array_contains_fn, true},
};
MP_FN_SIG_BIND(json_array_contains, "JSON_ARRAY_CONTAINS")

/* ---- TO_JSON_STRING ---- */

static int to_json_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    mp_buf b = {0};
    mp_value_write_json(&a[0], MP_JSON_TIME_TEXT, &b);
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_to_json[] = {{"x", "s", to_json_fn, true}};
MP_FN_SIG_BIND(to_json, "TO_JSON_STRING")

/* ---- the table ---- */

static const mp_fn_doc docs_extract[] = {
    {"(json STRING, path STRING)", "STRING",
     "The value at a JSONPath ($.a.b, $.a[0], $['a']): strings as text, anything else as "
     "JSON; NULL when absent."}};
static const mp_fn_doc docs_json_array_length[] = {
    {"(json STRING)", "INTEGER", "The length of a top-level JSON array, NULL for another value."}};
static const mp_fn_doc docs_json_keys[] = {
    {"(json STRING)", "ARRAY<STRING>", "The keys of a top-level JSON object."}};
static const mp_fn_doc docs_json_records[] = {
    {"(json STRING)", "MAP<STRING, STRING>",
     "The top-level fields of a JSON object, their values as JSON text."}};
static const mp_fn_doc docs_json_items[] = {
    {"(json STRING)", "ARRAY<STRING>", "The elements of a top-level JSON array as JSON text."}};
static const mp_fn_doc docs_is_json[] = {
    {"(s STRING)", "BOOLEAN", "Whether s is one valid JSON value (false for NULL or empty)."}};
static const mp_fn_doc docs_json_concat[] = {
    {"(json STRING, ...)", "STRING",
     "Objects merged, or arrays (and other values as one-element arrays) concatenated; NULL "
     "if an input is NULL or not JSON."}};
static const mp_fn_doc docs_json_array_contains[] = {
    {"(json STRING, x T)", "BOOLEAN",
     "Whether a JSON array holds x; false when json is not an array."}};
static const mp_fn_doc docs_to_json[] = {
    {"(x T)", "STRING", "x written as JSON (dates and times as ISO text)."}};

#define SCALAR(NAME, desc, docs, bind)                                                             \
    {                                                                                              \
        NAME, MP_FN_SCALAR, "JSON", desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL, NULL    \
    }

const mp_fn_def mp_fn_json_defs[] = {
    SCALAR("EXTRACTJSONFIELD", "Extracts a value from JSON text by JSONPath.", docs_extract,
           bind_extract),
    SCALAR("JSON_ARRAY_LENGTH", "The length of a JSON array.", docs_json_array_length,
           bind_json_array_length),
    SCALAR("JSON_KEYS", "The keys of a JSON object.", docs_json_keys, bind_json_keys),
    SCALAR("JSON_RECORDS", "The fields of a JSON object as a map.", docs_json_records,
           bind_json_records),
    SCALAR("JSON_ITEMS", "The elements of a JSON array.", docs_json_items, bind_json_items),
    SCALAR("IS_JSON_STRING", "Whether a string is valid JSON.", docs_is_json, bind_is_json),
    SCALAR("JSON_CONCAT", "Merges JSON objects or concatenates JSON arrays.", docs_json_concat,
           bind_json_concat),
    SCALAR("JSON_ARRAY_CONTAINS", "Whether a JSON array holds a value.", docs_json_array_contains,
           bind_json_array_contains),
    SCALAR("TO_JSON_STRING", "Any value as JSON text.", docs_to_json, bind_to_json),
};
const size_t mp_fn_json_count = MP_FN_COUNT(mp_fn_json_defs);
