/* String built-ins. Lengths and positions count UTF-16 code units, as
 * Java's String does (ksqlDB's LEN('😀') is 2); a cut through a surrogate
 * pair leaves half a character, which Java's UTF-8 encoder writes as '?',
 * and so do we. Regular expressions are POSIX extended expressions
 * (regex.h) with a few Java spellings translated: (?i) at the start, \d,
 * \D, and \s \w \d inside brackets; see regex_compile. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "data/sql_text.h"
#include "sql/fn_builtin.h"

/* Results this long are refused rather than built (LPAD('x', 2000000000, 'y')). */
#define MP_FN_MAX_RESULT ((size_t)64 << 20)

/* ---- pieces of a string, turned into an ARRAY at the end ---- */

typedef struct span {
    size_t off, len;
    bool null;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
    bool oom;
} spans;

static void spans_push(spans *s, size_t off, size_t len, bool null)
{
    if (s->oom)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        span *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (span){off, len, null};
}

/* An ARRAY<STRING> (or ARRAY<BYTES>) of base's pieces; frees the spans. */
static int spans_result(mp_fn_ctx *cx, const char *base, spans *s, mp_type_kind kind, mp_value *out)
{
    int rc = 0;
    mp_value arr;
    if (s->oom || mp_v_array(cx->arena, s->n, NULL, &arr)) {
        rc = mp_fn_oom(cx);
        goto done;
    }
    for (size_t i = 0; i < s->n; i++) {
        mp_value *it = &arr.u.items[i];
        if (s->v[i].null) {
            *it = mp_v_null(kind);
            continue;
        }
        int r = kind == MP_TYPE_BYTES ? mp_v_bytes(cx->arena, base + s->v[i].off, s->v[i].len, it)
                                      : mp_v_string(cx->arena, base + s->v[i].off, s->v[i].len, it);
        if (r) {
            rc = mp_fn_oom(cx);
            goto done;
        }
    }
    *out = arr;
done:
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
    return rc;
}

/* ---- LEN, LCASE, UCASE ---- */

static int len_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    size_t len = a[0].kind == MP_TYPE_BYTES ? a[0].len : mp_fn_u16_len(a[0].u.str, a[0].len);
    *out = mp_v_int((int32_t)len);
    return 0;
}
static const mp_fn_sig sigs_len[] = {
    {"s", "i", len_fn, false},
    {"y", "i", len_fn, false},
};
MP_FN_SIG_BIND(len, "LEN")

static int map_case(mp_fn_ctx *cx, const mp_value *s, mp_value *out, bool upper)
{
    mp_buf b = {0};
    size_t i = 0;
    while (i < s->len) {
        uint32_t cp = mp_fn_utf8_next(s->u.str, s->len, &i);
        mp_fn_utf8_put(&b, upper ? mp_fn_upper(cp) : mp_fn_lower(cp));
    }
    return mp_fn_ret_buf(cx, &b, out);
}

static int lcase_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return map_case(cx, &a[0], out, false);
}
static int ucase_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return map_case(cx, &a[0], out, true);
}
static const mp_fn_sig sigs_lcase[] = {{"s", "s", lcase_fn, false}};
static const mp_fn_sig sigs_ucase[] = {{"s", "s", ucase_fn, false}};
MP_FN_SIG_BIND(lcase, "LCASE")
MP_FN_SIG_BIND(ucase, "UCASE")

/* ---- CONCAT, CONCAT_WS ---- */

static int concat_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    mp_buf b = {0};
    for (size_t i = 0; i < n; i++)
        if (!a[i].null)
            mp_buf_append(&b, a[i].u.str, a[i].len);
    return rt->kind == MP_TYPE_BYTES ? mp_fn_ret_bytes_buf(cx, &b, out)
                                     : mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_concat[] = {
    {"ss*", "s", concat_fn, true},
    {"yy*", "y", concat_fn, true},
};
MP_FN_SIG_BIND(concat, "CONCAT")

static int concat_ws_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    mp_buf b = {0};
    bool first = true;
    for (size_t i = 1; i < n; i++) {
        if (a[i].null)
            continue;
        if (!first)
            mp_buf_append(&b, a[0].u.str, a[0].len);
        mp_buf_append(&b, a[i].u.str, a[i].len);
        first = false;
    }
    return rt->kind == MP_TYPE_BYTES ? mp_fn_ret_bytes_buf(cx, &b, out)
                                     : mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_concat_ws[] = {
    {"sss*", "s", concat_ws_fn, true},
    {"yyy*", "y", concat_ws_fn, true},
};
MP_FN_SIG_BIND(concat_ws, "CONCAT_WS")

/* ---- SUBSTRING ---- */

/* ksqlDB's index rules: 1-based, negative counts from the end, clamped;
 * 64-bit so that a huge length does not wrap as Java's int does. */
static void sub_range(int64_t len, int64_t pos, bool has_len, int64_t count, int64_t *start,
                      int64_t *end)
{
    int64_t s = pos < 0 ? len + pos : pos - 1;
    if (s < 0)
        s = 0;
    if (s > len)
        s = len;
    int64_t e = len;
    if (has_len) {
        e = s + count;
        if (e > len)
            e = len;
        if (e < s)
            e = s;
    }
    *start = s;
    *end = e;
}

static int substring_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    int64_t pos = a[1].u.i32, cnt = n > 2 ? a[2].u.i32 : 0, s, e;
    if (a[0].kind == MP_TYPE_BYTES) {
        sub_range(a[0].len, pos, n > 2, cnt, &s, &e);
        if (mp_v_bytes(cx->arena, a[0].u.bytes + s, (size_t)(e - s), out))
            return mp_fn_oom(cx);
        return 0;
    }
    size_t ulen;
    uint16_t *u = mp_fn_u16_from(cx->arena, a[0].u.str, a[0].len, &ulen);
    if (!u)
        return mp_fn_oom(cx);
    sub_range((int64_t)ulen, pos, n > 2, cnt, &s, &e);
    mp_buf b = {0};
    mp_fn_u16_put(&b, u + s, (size_t)(e - s));
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_substring[] = {
    {"si", "s", substring_fn, false},
    {"sii", "s", substring_fn, false},
    {"yi", "y", substring_fn, false},
    {"yii", "y", substring_fn, false},
};
MP_FN_SIG_BIND(substring, "SUBSTRING")

/* ---- TRIM, LTRIM, RTRIM: Java's trim() drops characters <= ' ' ---- */

static int trim_common(mp_fn_ctx *cx, const mp_value *s, mp_value *out, bool left, bool right)
{
    size_t b = 0, e = s->len;
    const unsigned char *p = (const unsigned char *)s->u.str;
    if (left)
        while (b < e && p[b] <= ' ')
            b++;
    if (right)
        while (e > b && p[e - 1] <= ' ')
            e--;
    return mp_fn_ret_str(cx, s->u.str + b, e - b, out);
}

static int trim_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return trim_common(cx, &a[0], out, true, true);
}
static int ltrim_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return trim_common(cx, &a[0], out, true, false);
}
static int rtrim_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return trim_common(cx, &a[0], out, false, true);
}
static const mp_fn_sig sigs_trim[] = {{"s", "s", trim_fn, false}};
static const mp_fn_sig sigs_ltrim[] = {{"s", "s", ltrim_fn, false}};
static const mp_fn_sig sigs_rtrim[] = {{"s", "s", rtrim_fn, false}};
MP_FN_SIG_BIND(trim, "TRIM")
MP_FN_SIG_BIND(ltrim, "LTRIM")
MP_FN_SIG_BIND(rtrim, "RTRIM")

/* ---- LPAD, RPAD ---- */

static int pad_common(mp_fn_ctx *cx, const char *name, const mp_value *a, mp_value *out,
                      const mp_type *rt, bool left)
{
    int64_t target = a[1].u.i32;
    const mp_value *in = &a[0], *pad = &a[2];
    if (pad->len == 0 || target < 0) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    if ((size_t)target > MP_FN_MAX_RESULT)
        return mp_fn_fail(cx, MP_EINPUT, name, "target length %lld is too large",
                          (long long)target);
    if (rt->kind == MP_TYPE_BYTES) {
        size_t t = (size_t)target, il = in->len, pl = pad->len;
        uint8_t *r = mp_arena_alloc(cx->arena, t + 1);
        if (!r)
            return mp_fn_oom(cx);
        if (il >= t) {
            memcpy(r, in->u.bytes, t);
        } else if (left) {
            for (size_t i = 0; i < t - il; i++)
                r[i] = pad->u.bytes[i % pl];
            memcpy(r + (t - il), in->u.bytes, il);
        } else {
            memcpy(r, in->u.bytes, il);
            for (size_t i = 0; i < t - il; i++)
                r[il + i] = pad->u.bytes[i % pl];
        }
        r[t] = 0;
        *out = mp_v_string_ref((const char *)r, t);
        out->kind = MP_TYPE_BYTES;
        return 0;
    }
    size_t il, pl, t = (size_t)target;
    uint16_t *iu = mp_fn_u16_from(cx->arena, in->u.str, in->len, &il);
    uint16_t *pu = mp_fn_u16_from(cx->arena, pad->u.str, pad->len, &pl);
    uint16_t *r = mp_arena_alloc(cx->arena, (t ? t : 1) * sizeof *r);
    if (!iu || !pu || !r)
        return mp_fn_oom(cx);
    if (il >= t) {
        memcpy(r, iu, t * sizeof *r);
    } else if (left) {
        for (size_t i = 0; i < t - il; i++)
            r[i] = pu[i % pl];
        memcpy(r + (t - il), iu, il * sizeof *r);
    } else {
        memcpy(r, iu, il * sizeof *r);
        for (size_t i = 0; i < t - il; i++)
            r[il + i] = pu[i % pl];
    }
    mp_buf b = {0};
    mp_fn_u16_put(&b, r, t);
    return mp_fn_ret_buf(cx, &b, out);
}

static int lpad_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return pad_common(cx, "LPAD", a, out, d, true);
}
static int rpad_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return pad_common(cx, "RPAD", a, out, d, false);
}
static const mp_fn_sig sigs_lpad[] = {
    {"sis", "s", lpad_fn, false},
    {"yiy", "y", lpad_fn, false},
};
static const mp_fn_sig sigs_rpad[] = {
    {"sis", "s", rpad_fn, false},
    {"yiy", "y", rpad_fn, false},
};
MP_FN_SIG_BIND(lpad, "LPAD")
MP_FN_SIG_BIND(rpad, "RPAD")

/* ---- REPLACE ---- */

static int replace_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const char *s = a[0].u.str, *from = a[1].u.str, *to = a[2].u.str;
    size_t sl = a[0].len, fl = a[1].len, tl = a[2].len;
    mp_buf b = {0};
    if (fl == 0) {
        /* Java inserts the replacement before every character and at the end */
        size_t i = 0;
        mp_buf_append(&b, to, tl);
        while (i < sl) {
            size_t st = i;
            mp_fn_utf8_next(s, sl, &i);
            mp_buf_append(&b, s + st, i - st);
            mp_buf_append(&b, to, tl);
            if (b.len > MP_FN_MAX_RESULT)
                break;
        }
    } else {
        size_t i = 0;
        while (i < sl) {
            if (i + fl <= sl && memcmp(s + i, from, fl) == 0) {
                mp_buf_append(&b, to, tl);
                i += fl;
            } else {
                mp_buf_putc(&b, s[i]);
                i++;
            }
            if (b.len > MP_FN_MAX_RESULT)
                break;
        }
    }
    if (b.len > MP_FN_MAX_RESULT) {
        mp_buf_free(&b);
        return mp_fn_fail(cx, MP_EINPUT, "REPLACE", "result too long");
    }
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_replace[] = {{"sss", "s", replace_fn, false}};
MP_FN_SIG_BIND(replace, "REPLACE")

/* ---- regular expressions ---- */

/* Compiles a Java-style pattern as a POSIX extended one. Java spellings
 * translated: a leading (?i), \d and \D, \t \n \r \f, and inside brackets
 * \d \s \w and escaped characters. Left as POSIX (and so different from
 * Java): '.' also matches a newline, alternation picks the longest match,
 * and lazy quantifiers, lookaround and backreferences are not supported. */
static int regex_compile(mp_fn_ctx *cx, const char *name, const char *pat, size_t plen, regex_t *re)
{
    mp_buf b = {0};
    int flags = REG_EXTENDED;
    size_t i = 0;
    if (plen >= 4 && memcmp(pat, "(?i)", 4) == 0) {
        flags |= REG_ICASE;
        i = 4;
    }
    bool in_class = false;
    for (; i < plen; i++) {
        char c = pat[i];
        if (in_class) {
            if (c == ']') {
                in_class = false;
                mp_buf_putc(&b, c);
            } else if (c == '\\' && i + 1 < plen) {
                char e = pat[++i];
                switch (e) {
                case 'd': mp_buf_puts(&b, "0-9"); break;
                case 's': mp_buf_puts(&b, " \t\n\r\f\v"); break;
                case 'w': mp_buf_puts(&b, "A-Za-z0-9_"); break;
                case 't': mp_buf_putc(&b, '\t'); break;
                case 'n': mp_buf_putc(&b, '\n'); break;
                case 'r': mp_buf_putc(&b, '\r'); break;
                case 'f': mp_buf_putc(&b, '\f'); break;
                default: mp_buf_putc(&b, e); break;
                }
            } else {
                mp_buf_putc(&b, c);
            }
            continue;
        }
        if (c == '[') {
            in_class = true;
            mp_buf_putc(&b, c);
            if (i + 1 < plen && pat[i + 1] == '^')
                mp_buf_putc(&b, pat[++i]);
            if (i + 1 < plen && pat[i + 1] == ']')
                mp_buf_putc(&b, pat[++i]);
            continue;
        }
        if (c == '\\' && i + 1 < plen) {
            char e = pat[++i];
            switch (e) {
            case 'd': mp_buf_puts(&b, "[0-9]"); break;
            case 'D': mp_buf_puts(&b, "[^0-9]"); break;
            case 't': mp_buf_putc(&b, '\t'); break;
            case 'n': mp_buf_putc(&b, '\n'); break;
            case 'r': mp_buf_putc(&b, '\r'); break;
            case 'f': mp_buf_putc(&b, '\f'); break;
            default:
                mp_buf_putc(&b, '\\');
                mp_buf_putc(&b, e);
                break;
            }
            continue;
        }
        mp_buf_putc(&b, c);
    }
    if (b.oom) {
        mp_buf_free(&b);
        return mp_fn_oom(cx);
    }
    int rc = regcomp(re, b.data ? b.data : "", flags);
    mp_buf_free(&b);
    if (rc) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        return mp_fn_fail(cx, MP_EINPUT, name, "invalid regular expression '%.*s': %s", (int)plen,
                          pat, msg);
    }
    return 0;
}

#define MAX_GROUPS 32

/* Finds the next match in s[0..n) at or after `from`; 1 found, 0 not. */
static int regex_find(const regex_t *re, const char *s, size_t n, size_t from, regmatch_t *m,
                      size_t nm)
{
    m[0].rm_so = (regoff_t)from;
    m[0].rm_eo = (regoff_t)n;
    return regexec(re, s, nm, m, REG_STARTEND) == 0;
}

/* The offset after the character at i (empty matches step over one). */
static size_t next_char(const char *s, size_t n, size_t i)
{
    mp_fn_utf8_next(s, n, &i);
    return i;
}

static int regexp_extract_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    int64_t group = n > 2 ? a[2].u.i32 : 0;
    regex_t re;
    int rc = regex_compile(cx, "REGEXP_EXTRACT", a[0].u.str, a[0].len, &re);
    if (rc)
        return rc;
    if (group < 0) {
        regfree(&re);
        return mp_fn_fail(cx, MP_EINPUT, "REGEXP_EXTRACT", "no group %lld", (long long)group);
    }
    if ((size_t)group > re.re_nsub) {
        regfree(&re);
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    size_t ng = re.re_nsub + 1 < MAX_GROUPS ? re.re_nsub + 1 : MAX_GROUPS;
    regmatch_t m[MAX_GROUPS];
    int found = regex_find(&re, a[1].u.str, a[1].len, 0, m, ng);
    regfree(&re);
    if (!found || (size_t)group >= ng || m[group].rm_so < 0) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    return mp_fn_ret_str(cx, a[1].u.str + m[group].rm_so, (size_t)(m[group].rm_eo - m[group].rm_so),
                         out);
}
static const mp_fn_sig sigs_regexp_extract[] = {
    {"ss", "s", regexp_extract_fn, false},
    {"ssi", "s", regexp_extract_fn, false},
};
MP_FN_SIG_BIND(regexp_extract, "REGEXP_EXTRACT")

static int regexp_extract_all_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                 const void *d)
{
    int64_t group = n > 2 ? a[2].u.i32 : 0;
    regex_t re;
    int rc = regex_compile(cx, "REGEXP_EXTRACT_ALL", a[0].u.str, a[0].len, &re);
    if (rc)
        return rc;
    if (group < 0) {
        regfree(&re);
        return mp_fn_fail(cx, MP_EINPUT, "REGEXP_EXTRACT_ALL", "no group %lld", (long long)group);
    }
    if ((size_t)group > re.re_nsub || group >= MAX_GROUPS) {
        regfree(&re);
        *out = mp_v_null(MP_TYPE_ARRAY);
        return 0;
    }
    size_t ng = re.re_nsub + 1 < MAX_GROUPS ? re.re_nsub + 1 : MAX_GROUPS;
    const char *s = a[1].u.str;
    size_t sl = a[1].len, pos = 0;
    spans sp = {0};
    regmatch_t m[MAX_GROUPS];
    while (pos <= sl && regex_find(&re, s, sl, pos, m, ng)) {
        if (m[group].rm_so < 0)
            spans_push(&sp, 0, 0, true);
        else
            spans_push(&sp, (size_t)m[group].rm_so, (size_t)(m[group].rm_eo - m[group].rm_so),
                       false);
        if (m[0].rm_eo == m[0].rm_so) {
            if ((size_t)m[0].rm_eo >= sl)
                break;
            pos = next_char(s, sl, (size_t)m[0].rm_eo);
        } else {
            pos = (size_t)m[0].rm_eo;
        }
    }
    regfree(&re);
    return spans_result(cx, s, &sp, MP_TYPE_STRING, out);
}
static const mp_fn_sig sigs_regexp_extract_all[] = {
    {"ss", "[s", regexp_extract_all_fn, false},
    {"ssi", "[s", regexp_extract_all_fn, false},
};
MP_FN_SIG_BIND(regexp_extract_all, "REGEXP_EXTRACT_ALL")

/* Appends a Java replacement string: $n is group n, \x is x. */
static int append_replacement(mp_fn_ctx *cx, mp_buf *b, const char *rep, size_t rl, const char *s,
                              const regmatch_t *m, size_t ngroups)
{
    for (size_t i = 0; i < rl; i++) {
        char c = rep[i];
        if (c == '\\') {
            if (++i >= rl)
                return mp_fn_fail(cx, MP_EINPUT, "REGEXP_REPLACE",
                                  "character to be escaped is missing");
            mp_buf_putc(b, rep[i]);
        } else if (c == '$') {
            if (++i >= rl || rep[i] < '0' || rep[i] > '9')
                return mp_fn_fail(cx, MP_EINPUT, "REGEXP_REPLACE", "illegal group reference");
            size_t g = (size_t)(rep[i] - '0');
            if (g >= ngroups)
                return mp_fn_fail(cx, MP_EINPUT, "REGEXP_REPLACE", "no group %zu", g);
            /* Java takes more digits while the number stays a valid group */
            while (i + 1 < rl && rep[i + 1] >= '0' && rep[i + 1] <= '9' &&
                   g * 10 + (size_t)(rep[i + 1] - '0') < ngroups)
                g = g * 10 + (size_t)(rep[++i] - '0');
            if (m[g].rm_so >= 0)
                mp_buf_append(b, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
        } else {
            mp_buf_putc(b, c);
        }
    }
    return 0;
}

static int regexp_replace_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    regex_t re;
    int rc = regex_compile(cx, "REGEXP_REPLACE", a[1].u.str, a[1].len, &re);
    if (rc)
        return rc;
    size_t ng = re.re_nsub + 1 < MAX_GROUPS ? re.re_nsub + 1 : MAX_GROUPS;
    const char *s = a[0].u.str;
    size_t sl = a[0].len, pos = 0, copied = 0;
    mp_buf b = {0};
    regmatch_t m[MAX_GROUPS];
    while (pos <= sl && regex_find(&re, s, sl, pos, m, ng)) {
        size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
        mp_buf_append(&b, s + copied, so - copied);
        rc = append_replacement(cx, &b, a[2].u.str, a[2].len, s, m, ng);
        if (rc)
            break;
        copied = eo;
        if (b.len > MP_FN_MAX_RESULT) {
            rc = mp_fn_fail(cx, MP_EINPUT, "REGEXP_REPLACE", "result too long");
            break;
        }
        if (eo == so) {
            if (eo >= sl)
                break;
            pos = next_char(s, sl, eo);
        } else {
            pos = eo;
        }
    }
    regfree(&re);
    if (rc) {
        mp_buf_free(&b);
        return rc;
    }
    mp_buf_append(&b, s + copied, sl - copied);
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_regexp_replace[] = {{"sss", "s", regexp_replace_fn, false}};
MP_FN_SIG_BIND(regexp_replace, "REGEXP_REPLACE")

/* REGEXP_SPLIT_TO_ARRAY: Guava's Splitter for patterns that cannot match
 * the empty string (every piece kept), Java's String.split otherwise (no
 * leading empty piece from a match at 0, trailing empty pieces dropped). */
static int regexp_split_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    regex_t re;
    int rc = regex_compile(cx, "REGEXP_SPLIT_TO_ARRAY", a[1].u.str, a[1].len, &re);
    if (rc)
        return rc;
    regmatch_t m[1];
    bool matches_empty = a[1].len == 0 || regex_find(&re, "", 0, 0, m, 1);
    const char *s = a[0].u.str;
    size_t sl = a[0].len, pos = 0, last = 0;
    spans sp = {0};
    if (!matches_empty) {
        /* Guava: an empty match (\b, lookahead-like anchors) at the start of
         * the current piece is stepped over; anywhere else it splits */
        while (pos <= sl && regex_find(&re, s, sl, pos, m, 1)) {
            size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
            if (eo == so && so == last) {
                if (so >= sl)
                    break;
                pos = next_char(s, sl, so);
                continue;
            }
            spans_push(&sp, last, so - last, false);
            last = pos = eo;
        }
        spans_push(&sp, last, sl - last, false);
    } else {
        while (pos <= sl && regex_find(&re, s, sl, pos, m, 1)) {
            size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
            if (!(last == 0 && so == 0 && eo == 0)) {
                spans_push(&sp, last, so - last, false);
                last = eo;
            }
            if (eo == so) {
                if (eo >= sl)
                    break;
                pos = next_char(s, sl, eo);
            } else {
                pos = eo;
            }
        }
        if (last == 0) {
            sp.n = 0;
            spans_push(&sp, 0, sl, false);
        } else {
            spans_push(&sp, last, sl - last, false);
            while (sp.n > 0 && sp.v[sp.n - 1].len == 0)
                sp.n--;
        }
    }
    regfree(&re);
    return spans_result(cx, s, &sp, MP_TYPE_STRING, out);
}
static const mp_fn_sig sigs_regexp_split[] = {{"ss", "[s", regexp_split_fn, false}};
MP_FN_SIG_BIND(regexp_split, "REGEXP_SPLIT_TO_ARRAY")

/* ---- SPLIT, SPLIT_TO_MAP ---- */

static int split_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    bool bytes = a[0].kind == MP_TYPE_BYTES;
    const char *s = a[0].u.str, *del = a[1].u.str;
    size_t sl = a[0].len, dl = a[1].len;
    spans sp = {0};
    if (sl == 0) {
        spans_push(&sp, 0, 0, false);
    } else if (dl == 0) {
        /* every character (every byte for BYTES) on its own */
        size_t i = 0;
        while (i < sl) {
            size_t st = i;
            if (bytes)
                i++;
            else
                mp_fn_utf8_next(s, sl, &i);
            spans_push(&sp, st, i - st, false);
        }
    } else {
        size_t last = 0, i = 0;
        while (i + dl <= sl) {
            if (memcmp(s + i, del, dl) == 0) {
                spans_push(&sp, last, i - last, false);
                i += dl;
                last = i;
            } else {
                i++;
            }
        }
        spans_push(&sp, last, sl - last, false);
    }
    return spans_result(cx, s, &sp, bytes ? MP_TYPE_BYTES : MP_TYPE_STRING, out);
}
static const mp_fn_sig sigs_split[] = {
    {"ss", "[s", split_fn, false},
    {"yy", "[y", split_fn, false},
};
MP_FN_SIG_BIND(split, "SPLIT")

static const char *find_bytes(const char *s, size_t n, const char *w, size_t wl)
{
    if (wl == 0 || wl > n)
        return NULL;
    for (size_t i = 0; i + wl <= n; i++)
        if (memcmp(s + i, w, wl) == 0)
            return s + i;
    return NULL;
}

static int split_to_map_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const char *s = a[0].u.str, *ed = a[1].u.str, *kd = a[2].u.str;
    size_t sl = a[0].len, el = a[1].len, kl = a[2].len;
    if (el == 0 || kl == 0 || (el == kl && memcmp(ed, kd, el) == 0)) {
        *out = mp_v_null(MP_TYPE_MAP);
        return 0;
    }
    /* entries (empty ones skipped) that hold the key-value delimiter */
    spans keys = {0}, vals = {0};
    size_t pos = 0;
    while (pos <= sl) {
        const char *hit = find_bytes(s + pos, sl - pos, ed, el);
        size_t end = hit ? (size_t)(hit - s) : sl;
        if (end > pos) {
            const char *kv = find_bytes(s + pos, end - pos, kd, kl);
            if (kv) {
                size_t ks = pos, ke = (size_t)(kv - s), vs = ke + kl;
                const char *kv2 = find_bytes(s + vs, end - vs, kd, kl);
                size_t ve = kv2 ? (size_t)(kv2 - s) : end;
                /* a repeated key keeps its first position and its last value */
                size_t k;
                for (k = 0; k < keys.n; k++)
                    if (keys.v[k].len == ke - ks && memcmp(s + keys.v[k].off, s + ks, ke - ks) == 0)
                        break;
                if (k < keys.n) {
                    vals.v[k] = (span){vs, ve - vs, false};
                } else {
                    spans_push(&keys, ks, ke - ks, false);
                    spans_push(&vals, vs, ve - vs, false);
                }
            }
        }
        if (!hit)
            break;
        pos = end + el;
    }
    int rc = 0;
    mp_value m;
    if (keys.oom || vals.oom || mp_v_map(cx->arena, keys.n, NULL, NULL, &m)) {
        rc = mp_fn_oom(cx);
    } else {
        for (size_t i = 0; i < keys.n && !rc; i++) {
            if (mp_v_string(cx->arena, s + keys.v[i].off, keys.v[i].len, &m.u.items[2 * i]) ||
                mp_v_string(cx->arena, s + vals.v[i].off, vals.v[i].len, &m.u.items[2 * i + 1]))
                rc = mp_fn_oom(cx);
        }
        if (!rc)
            *out = m;
    }
    free(keys.v);
    free(vals.v);
    return rc;
}
static const mp_fn_sig sigs_split_to_map[] = {{"sss", "{ss", split_to_map_fn, false}};
MP_FN_SIG_BIND(split_to_map, "SPLIT_TO_MAP")

/* ---- INSTR ---- */

/* commons-lang's ordinalIndexOf: index of the n-th (overlapping) occurrence. */
static int64_t ordinal_index(const uint16_t *s, size_t sl, const uint16_t *w, size_t wl,
                             int64_t ordinal)
{
    if (ordinal <= 0)
        return -1;
    if (wl == 0)
        return 0;
    int64_t found = 0, idx = -1;
    while (found < ordinal) {
        int64_t next = -1;
        for (size_t i = (size_t)(idx + 1); i + wl <= sl; i++) {
            if (memcmp(s + i, w, wl * sizeof *w) == 0) {
                next = (int64_t)i;
                break;
            }
        }
        if (next < 0)
            return -1;
        idx = next;
        found++;
    }
    return idx;
}

static void reverse_u16(uint16_t *u, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint16_t t = u[i];
        u[i] = u[n - 1 - i];
        u[n - 1 - i] = t;
    }
}

static int instr_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    if (a[0].null || a[1].null) {
        *out = mp_v_int(0);
        return 0;
    }
    if ((n > 2 && a[2].null) || (n > 3 && a[3].null)) {
        *out = mp_v_null(MP_TYPE_INTEGER);
        return 0;
    }
    int64_t position = n > 2 ? a[2].u.i32 : 1, occurrence = n > 3 ? a[3].u.i32 : 1;
    size_t sl, wl;
    uint16_t *s = mp_fn_u16_from(cx->arena, a[0].u.str, a[0].len, &sl);
    uint16_t *w = mp_fn_u16_from(cx->arena, a[1].u.str, a[1].len, &wl);
    if (!s || !w)
        return mp_fn_oom(cx);
    if ((position < 0 ? -position : position) > (int64_t)sl) {
        *out = mp_v_int(0);
        return 0;
    }
    bool reversed = position < 0;
    if (reversed) {
        reverse_u16(s, sl);
        reverse_u16(w, wl);
        position = -position;
    }
    /* commons-lang substring(str, position - 1): a negative start counts
     * from the end (position 0 means the last character) */
    int64_t start = position - 1;
    if (start < 0)
        start += (int64_t)sl;
    if (start < 0)
        start = 0;
    if (start > (int64_t)sl)
        start = (int64_t)sl;
    int64_t i = ordinal_index(s + start, sl - (size_t)start, w, wl, occurrence);
    int64_t r;
    if (i < 0)
        r = 0;
    else if (reversed)
        r = (int64_t)sl - position - i - (int64_t)wl + 2;
    else
        r = i + position;
    *out = mp_v_int((int32_t)r);
    return 0;
}
static const mp_fn_sig sigs_instr[] = {
    {"ss", "i", instr_fn, true},
    {"ssi", "i", instr_fn, true},
    {"ssii", "i", instr_fn, true},
};
MP_FN_SIG_BIND(instr, "INSTR")

/* ---- INITCAP ---- */

/* Lower-cases the text, then upper-cases the first character of every
 * run matching [^\s]+\s*; like ksqlDB, whitespace before the first word is
 * not part of any run and is dropped. */
static int initcap_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const char *s = a[0].u.str;
    size_t sl = a[0].len, i = 0;
    mp_buf b = {0};
    while (i < sl && mp_fn_is_space((unsigned char)s[i]))
        i++;
    bool word_start = true;
    while (i < sl) {
        uint32_t cp = mp_fn_utf8_next(s, sl, &i);
        if (mp_fn_is_space(cp)) {
            mp_fn_utf8_put(&b, cp);
            word_start = true;
            continue;
        }
        cp = mp_fn_lower(cp);
        if (word_start && cp < 0x10000)
            cp = mp_fn_upper(cp);
        word_start = false;
        mp_fn_utf8_put(&b, cp);
    }
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_initcap[] = {{"s", "s", initcap_fn, false}};
MP_FN_SIG_BIND(initcap, "INITCAP")

/* ---- MASK and friends ---- */

#define NO_MASK 0xFFFFFFFFu

typedef struct masks {
    uint32_t upper, lower, digit, other;
} masks;

static int mask_char(mp_fn_ctx *cx, const char *name, const mp_value *v, uint32_t def,
                     uint32_t *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    if (v->null) {
        *out = NO_MASK;
        return 0;
    }
    if (mp_fn_u16_len(v->u.str, v->len) != 1)
        return mp_fn_fail(cx, MP_EINPUT, name,
                          "Invalid mask character. Must be only single character, but was '%.*s'",
                          (int)v->len, v->u.str);
    size_t i = 0;
    *out = mp_fn_utf8_next(v->u.str, v->len, &i);
    return 0;
}

static int get_masks(mp_fn_ctx *cx, const char *name, const mp_value *m4, masks *mk)
{
    int rc;
    if ((rc = mask_char(cx, name, m4 ? &m4[0] : NULL, 'X', &mk->upper)) ||
        (rc = mask_char(cx, name, m4 ? &m4[1] : NULL, 'x', &mk->lower)) ||
        (rc = mask_char(cx, name, m4 ? &m4[2] : NULL, 'n', &mk->digit)) ||
        (rc = mask_char(cx, name, m4 ? &m4[3] : NULL, '-', &mk->other)))
        return rc;
    return 0;
}

static uint32_t mask_one(const masks *mk, uint32_t cp)
{
    uint32_t m;
    if (mp_fn_is_upper(cp))
        m = mk->upper;
    else if (mp_fn_is_lower(cp))
        m = mk->lower;
    else if (mp_fn_is_digit(cp))
        m = mk->digit;
    else
        m = mk->other;
    return m == NO_MASK ? cp : m;
}

/* Masks UTF-16 units [from, to) of the input; the rest passes through. */
static int mask_range(mp_fn_ctx *cx, const mp_value *in, const masks *mk, int64_t from, int64_t to,
                      mp_value *out)
{
    size_t ul;
    uint16_t *u = mp_fn_u16_from(cx->arena, in->u.str, in->len, &ul);
    if (!u)
        return mp_fn_oom(cx);
    int64_t len = (int64_t)ul;
    from = from < 0 ? 0 : from > len ? len : from;
    to = to < from ? from : to > len ? len : to;
    mp_buf b = {0};
    mp_fn_u16_put(&b, u, (size_t)from);
    for (int64_t i = from; i < to; i++) {
        uint32_t c = u[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < to && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
            i++;
        }
        mp_fn_utf8_put(&b, mask_one(mk, c));
    }
    mp_fn_u16_put(&b, u + to, (size_t)(len - to));
    return mp_fn_ret_buf(cx, &b, out);
}

static int mask_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    if (a[0].null) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    masks mk;
    int rc = get_masks(cx, "MASK", n > 1 ? &a[1] : NULL, &mk);
    if (rc)
        return rc;
    return mask_range(cx, &a[0], &mk, 0, INT64_MAX, out);
}

typedef enum { MK_KEEP_LEFT, MK_KEEP_RIGHT, MK_LEFT, MK_RIGHT } mask_kind;

static int mask_part(mp_fn_ctx *cx, const char *name, mask_kind kind, const mp_value *a, size_t n,
                     mp_value *out)
{
    if (a[0].null || a[1].null) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    int64_t k = a[1].u.i32;
    if (k < 0)
        return mp_fn_fail(
            cx, MP_EINPUT, name,
            "function %s requires a non-negative number of characters to mask or skip", name);
    masks mk;
    int rc = get_masks(cx, name, n > 2 ? &a[2] : NULL, &mk);
    if (rc)
        return rc;
    int64_t len = (int64_t)mp_fn_u16_len(a[0].u.str, a[0].len);
    int64_t from = 0, to = len;
    switch (kind) {
    case MK_KEEP_LEFT: from = k < len ? k : len; break;
    case MK_KEEP_RIGHT: to = len - k > 0 ? len - k : 0; break;
    case MK_LEFT: to = k < len ? k : len; break;
    case MK_RIGHT: from = len - k > 0 ? len - k : 0; break;
    }
    return mask_range(cx, &a[0], &mk, from, to, out);
}

static int mask_keep_left_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    return mask_part(cx, "MASK_KEEP_LEFT", MK_KEEP_LEFT, a, n, out);
}
static int mask_keep_right_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                              const void *d)
{
    return mask_part(cx, "MASK_KEEP_RIGHT", MK_KEEP_RIGHT, a, n, out);
}
static int mask_left_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return mask_part(cx, "MASK_LEFT", MK_LEFT, a, n, out);
}
static int mask_right_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return mask_part(cx, "MASK_RIGHT", MK_RIGHT, a, n, out);
}

static const mp_fn_sig sigs_mask[] = {
    {"s", "s", mask_fn, false},
    {"sssss", "s", mask_fn, true},
};
MP_FN_SIG_BIND(mask, "MASK")
#define MASK_SIGS(id)                                                                              \
    static const mp_fn_sig sigs_##id[] = {                                                         \
        {"si", "s", id##_fn, false},                                                               \
        {"sissss", "s", id##_fn, true},                                                            \
    };
MASK_SIGS(mask_keep_left)
MASK_SIGS(mask_keep_right)
MASK_SIGS(mask_left)
MASK_SIGS(mask_right)
MP_FN_SIG_BIND(mask_keep_left, "MASK_KEEP_LEFT")
MP_FN_SIG_BIND(mask_keep_right, "MASK_KEEP_RIGHT")
MP_FN_SIG_BIND(mask_left, "MASK_LEFT")
MP_FN_SIG_BIND(mask_right, "MASK_RIGHT")

/* ---- CHR ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int chr_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    mp_buf b = {0};
    if (a[0].kind != MP_TYPE_STRING) {
        int64_t cp = mp_fn_num_int64(&a[0]);
        if (cp < 0 || cp > 0x10FFFF) {
            *out = mp_v_null(MP_TYPE_STRING);
            return 0;
        }
        mp_fn_utf8_put(&b, (uint32_t)cp);
        return mp_fn_ret_buf(cx, &b, out);
    }
    /* '\uXXXX' (and whatever follows, unescaped as Java source text) */
    const char *s = a[0].u.str;
    size_t sl = a[0].len;
    if (mp_fn_u16_len(s, sl) < 6 || s[0] != '\\' || s[1] != 'u') {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    uint16_t units[64];
    size_t nu = 0;
    for (size_t i = 0; i < sl;) {
        if (s[i] == '\\' && i + 1 < sl) {
            char e = s[i + 1];
            if (e == 'u') {
                size_t j = i + 2;
                while (j < sl && s[j] == 'u')
                    j++;
                int v = 0;
                for (int k = 0; k < 4; k++) {
                    int h = j + (size_t)k < sl ? hexval(s[j + (size_t)k]) : -1;
                    if (h < 0) {
                        mp_buf_free(&b);
                        return mp_fn_fail(cx, MP_EINPUT, "CHR",
                                          "unable to parse unicode value: %.*s", (int)(sl - i),
                                          s + i);
                    }
                    v = v * 16 + h;
                }
                if (nu == 64) {
                    mp_fn_u16_put(&b, units, nu);
                    nu = 0;
                }
                units[nu++] = (uint16_t)v;
                i = j + 4;
                continue;
            }
            char lit = e == 'n'   ? '\n'
                       : e == 't' ? '\t'
                       : e == 'r' ? '\r'
                       : e == 'b' ? '\b'
                       : e == 'f' ? '\f'
                                  : e;
            mp_fn_u16_put(&b, units, nu);
            nu = 0;
            mp_buf_putc(&b, lit);
            i += 2;
            continue;
        }
        mp_fn_u16_put(&b, units, nu);
        nu = 0;
        size_t st = i;
        mp_fn_utf8_next(s, sl, &i);
        mp_buf_append(&b, s + st, i - st);
    }
    mp_fn_u16_put(&b, units, nu);
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_chr[] = {
    {"i", "s", chr_fn, false},
    {"s", "s", chr_fn, false},
};
MP_FN_SIG_BIND(chr, "CHR")

/* ---- encodings: ENCODE, TO_BYTES, FROM_BYTES ---- */

typedef enum { ENC_HEX, ENC_UTF8, ENC_ASCII, ENC_BASE64, ENC_BAD } encoding;

static encoding parse_encoding(const char *s, size_t n)
{
    if (mp_fn_ieq(s, n, "hex"))
        return ENC_HEX;
    if (mp_fn_ieq(s, n, "utf8"))
        return ENC_UTF8;
    if (mp_fn_ieq(s, n, "ascii"))
        return ENC_ASCII;
    if (mp_fn_ieq(s, n, "base64"))
        return ENC_BASE64;
    return ENC_BAD;
}

static int hex_decode(mp_fn_ctx *cx, const char *name, const char *s, size_t n, mp_buf *out)
{
    if (n % 2)
        return mp_fn_fail(cx, MP_EINPUT, name, "Odd number of characters.");
    for (size_t i = 0; i < n; i += 2) {
        int h = hexval(s[i]), l = hexval(s[i + 1]);
        if (h < 0 || l < 0)
            return mp_fn_fail(cx, MP_EINPUT, name, "Illegal hexadecimal character %c at index %zu",
                              h < 0 ? s[i] : s[i + 1], h < 0 ? i : i + 1);
        mp_buf_putc(out, (char)(h * 16 + l));
    }
    return 0;
}

static void hex_encode(const uint8_t *p, size_t n, bool upper, mp_buf *out)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        mp_buf_putc(out, dig[p[i] >> 4]);
        mp_buf_putc(out, dig[p[i] & 15]);
    }
}

static int b64val(char c, bool urlsafe)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || (urlsafe && c == '-'))
        return 62;
    if (c == '/' || (urlsafe && c == '_'))
        return 63;
    return -1;
}

/* Lenient base64 (commons-codec, Java's MIME decoder): characters outside
 * the alphabet are skipped, '=' ends the data. A final lone character is
 * an error when strict_tail (Java) and dropped otherwise (commons). */
static int b64_decode(mp_fn_ctx *cx, const char *name, const char *s, size_t n, bool urlsafe,
                      bool strict_tail, mp_buf *out)
{
    uint32_t acc = 0;
    int bits = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int v = b64val(s[i], urlsafe);
        if (v < 0)
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        count++;
        if (bits >= 8) {
            bits -= 8;
            mp_buf_putc(out, (char)((acc >> bits) & 0xFF));
        }
    }
    if (strict_tail && count % 4 == 1)
        return mp_fn_fail(cx, MP_EINPUT, name, "Last unit does not have enough valid bits");
    return 0;
}

/* Java's MIME encoder: lines of 76 characters separated by CRLF. */
static void b64_encode_mime(const uint8_t *p, size_t n, mp_buf *out)
{
    for (size_t off = 0; off < n; off += 57) {
        if (off)
            mp_buf_puts(out, "\r\n");
        mp_base64_encode(p + off, n - off < 57 ? n - off : 57, out);
    }
}

/* ASCII decoding of bytes: anything above 0x7F becomes U+FFFD. */
static void ascii_to_text(const uint8_t *p, size_t n, mp_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x80)
            mp_buf_putc(out, (char)p[i]);
        else
            mp_fn_utf8_put(out, 0xFFFD);
    }
}

/* UTF-8 decoding of bytes: malformed sequences become U+FFFD. */
static void utf8_to_text(const uint8_t *p, size_t n, mp_buf *out)
{
    size_t i = 0;
    while (i < n) {
        size_t st = i;
        uint32_t cp = mp_fn_utf8_next((const char *)p, n, &i);
        if (cp == 0xFFFD && i - st == 1 && p[st] >= 0x80)
            mp_fn_utf8_put(out, 0xFFFD);
        else
            mp_buf_append(out, p + st, i - st);
    }
}

/* Text to ASCII bytes: a non-ASCII character becomes '?'. */
static void text_to_ascii(const char *s, size_t n, mp_buf *out)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp = mp_fn_utf8_next(s, n, &i);
        mp_buf_putc(out, cp < 0x80 ? (char)cp : '?');
    }
}

static int encode_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    encoding in = parse_encoding(a[1].u.str, a[1].len);
    encoding to = parse_encoding(a[2].u.str, a[2].len);
    if (in == ENC_BAD || to == ENC_BAD || in == to)
        return mp_fn_fail(cx, MP_EINPUT, "ENCODE",
                          "Supported input and output encodings are: hex, utf8, ascii and base64");
    const char *s = a[0].u.str;
    size_t sl = a[0].len;
    mp_buf raw = {0}, res = {0};
    int rc = 0;
    switch (in) {
    case ENC_HEX:
        /* "0x..." and "X'...'" are accepted as in ksqlDB */
        if (sl >= 2 && s[0] == '0' && s[1] == 'x') {
            mp_buf pre = {0};
            if (sl % 2)
                mp_buf_putc(&pre, '0');
            mp_buf_append(&pre, s + 2, sl - 2);
            rc = pre.oom ? mp_fn_oom(cx)
                         : hex_decode(cx, "ENCODE", pre.data ? pre.data : "", pre.len, &raw);
            mp_buf_free(&pre);
        } else if (sl >= 3 && (s[0] == 'x' || s[0] == 'X') && s[1] == '\'' && s[sl - 1] == '\'') {
            rc = hex_decode(cx, "ENCODE", s + 2, sl - 3, &raw);
        } else {
            rc = hex_decode(cx, "ENCODE", s, sl, &raw);
        }
        break;
    case ENC_BASE64: rc = b64_decode(cx, "ENCODE", s, sl, true, false, &raw); break;
    case ENC_ASCII: text_to_ascii(s, sl, &raw); break;
    default: mp_buf_append(&raw, s, sl); break;
    }
    if (!rc) {
        const uint8_t *p = (const uint8_t *)(raw.data ? raw.data : "");
        switch (to) {
        case ENC_HEX: hex_encode(p, raw.len, false, &res); break;
        case ENC_BASE64: mp_base64_encode(p, raw.len, &res); break;
        case ENC_ASCII: ascii_to_text(p, raw.len, &res); break;
        default: utf8_to_text(p, raw.len, &res); break;
        }
        if (raw.oom)
            res.oom = 1;
    }
    mp_buf_free(&raw);
    if (rc) {
        mp_buf_free(&res);
        return rc;
    }
    return mp_fn_ret_buf(cx, &res, out);
}
static const mp_fn_sig sigs_encode[] = {{"sss", "s", encode_fn, false}};
MP_FN_SIG_BIND(encode, "ENCODE")

static int to_bytes_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    encoding enc = parse_encoding(a[1].u.str, a[1].len);
    if (enc == ENC_BAD)
        return mp_fn_fail(cx, MP_EINPUT, "TO_BYTES",
                          "Unknown encoding type '%.*s'. Supported formats are 'hex', 'utf8', "
                          "'ascii', and 'base64'.",
                          (int)a[1].len, a[1].u.str);
    mp_buf b = {0};
    int rc = 0;
    switch (enc) {
    case ENC_HEX: rc = hex_decode(cx, "TO_BYTES", a[0].u.str, a[0].len, &b); break;
    case ENC_BASE64: rc = b64_decode(cx, "TO_BYTES", a[0].u.str, a[0].len, false, true, &b); break;
    case ENC_ASCII: text_to_ascii(a[0].u.str, a[0].len, &b); break;
    default: mp_buf_append(&b, a[0].u.str, a[0].len); break;
    }
    if (rc) {
        mp_buf_free(&b);
        return rc;
    }
    return mp_fn_ret_bytes_buf(cx, &b, out);
}
static const mp_fn_sig sigs_to_bytes[] = {{"ss", "y", to_bytes_fn, false}};
MP_FN_SIG_BIND(to_bytes, "TO_BYTES")

static int from_bytes_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    encoding enc = parse_encoding(a[1].u.str, a[1].len);
    if (enc == ENC_BAD)
        return mp_fn_fail(cx, MP_EINPUT, "FROM_BYTES",
                          "Unknown encoding type '%.*s'. Supported formats are 'hex', 'utf8', "
                          "'ascii', and 'base64'.",
                          (int)a[1].len, a[1].u.str);
    mp_buf b = {0};
    switch (enc) {
    case ENC_HEX: hex_encode(a[0].u.bytes, a[0].len, true, &b); break;
    case ENC_BASE64: b64_encode_mime(a[0].u.bytes, a[0].len, &b); break;
    case ENC_ASCII: ascii_to_text(a[0].u.bytes, a[0].len, &b); break;
    default: utf8_to_text(a[0].u.bytes, a[0].len, &b); break;
    }
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_from_bytes[] = {{"ys", "s", from_bytes_fn, false}};
MP_FN_SIG_BIND(from_bytes, "FROM_BYTES")

/* ---- UUID ---- */

static int uuid_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    uint8_t u[16];
    uint64_t hi = mp_fn_random_u64(), lo = mp_fn_random_u64();
    for (int i = 0; i < 8; i++) {
        u[i] = (uint8_t)(hi >> (56 - 8 * i));
        u[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    u[6] = (uint8_t)((u[6] & 0x0F) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    mp_buf b = {0};
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            mp_buf_putc(&b, '-');
        hex_encode(&u[i], 1, false, &b);
    }
    return mp_fn_ret_buf(cx, &b, out);
}
static const mp_fn_sig sigs_uuid[] = {{"", "s", uuid_fn, false}};
MP_FN_SIG_BIND(uuid, "UUID")

/* ---- ELT, FIELD ---- */

static int elt_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    if (a[0].null) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    int64_t k = mp_fn_num_int64(&a[0]);
    if (k < 1 || k > (int64_t)(n - 1)) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    *out = a[k];
    if (out->kind == MP_TYPE_NULL)
        *out = mp_v_null(MP_TYPE_STRING);
    return 0;
}
static const mp_fn_sig sigs_elt[] = {{"is*", "s", elt_fn, true}};
MP_FN_SIG_BIND(elt, "ELT")

static int field_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    int32_t r = 0;
    if (!a[0].null) {
        for (size_t i = 1; i < n; i++) {
            if (!a[i].null && a[i].len == a[0].len &&
                memcmp(a[i].u.str, a[0].u.str, a[0].len) == 0) {
                r = (int32_t)i;
                break;
            }
        }
    }
    *out = mp_v_int(r);
    return 0;
}
static const mp_fn_sig sigs_field[] = {{"ss*", "i", field_fn, true}};
MP_FN_SIG_BIND(field, "FIELD")

/* ---- the table ---- */

static const mp_fn_doc docs_len[] = {
    {"(s STRING)", "INTEGER", "The length of s in UTF-16 code units, as Java counts."},
    {"(b BYTES)", "INTEGER", "The number of bytes in b."},
};
static const mp_fn_doc docs_lcase[] = {{"(s STRING)", "STRING", "s in lower case."}};
static const mp_fn_doc docs_ucase[] = {{"(s STRING)", "STRING", "s in upper case."}};
static const mp_fn_doc docs_concat[] = {
    {"(s STRING, ...)", "STRING", "The strings joined end to end; NULLs count as empty."},
    {"(b BYTES, ...)", "BYTES", "The byte strings joined end to end; NULLs count as empty."},
};
static const mp_fn_doc docs_concat_ws[] = {
    {"(sep STRING, s STRING, ...)", "STRING",
     "The non-NULL strings joined with sep between them; NULL when sep is NULL."},
    {"(sep BYTES, b BYTES, ...)", "BYTES",
     "The non-NULL byte strings joined with sep between them; NULL when sep is NULL."},
};
static const mp_fn_doc docs_substring[] = {
    {"(s STRING, pos INTEGER)", "STRING",
     "s from position pos (1-based; negative counts from the end) to its end."},
    {"(s STRING, pos INTEGER, len INTEGER)", "STRING", "At most len characters of s from pos."},
    {"(b BYTES, pos INTEGER)", "BYTES", "b from byte pos to its end."},
    {"(b BYTES, pos INTEGER, len INTEGER)", "BYTES", "At most len bytes of b from pos."},
};
static const mp_fn_doc docs_trim[] = {
    {"(s STRING)", "STRING", "s without leading and trailing spaces and control characters."}};
static const mp_fn_doc docs_ltrim[] = {
    {"(s STRING)", "STRING", "s without leading spaces and control characters."}};
static const mp_fn_doc docs_rtrim[] = {
    {"(s STRING)", "STRING", "s without trailing spaces and control characters."}};
static const mp_fn_doc docs_lpad[] = {
    {"(s STRING, len INTEGER, pad STRING)", "STRING",
     "s cut or left-padded with repeats of pad to len characters; NULL for an empty pad or a "
     "negative len."},
    {"(b BYTES, len INTEGER, pad BYTES)", "BYTES", "The same for bytes."},
};
static const mp_fn_doc docs_rpad[] = {
    {"(s STRING, len INTEGER, pad STRING)", "STRING",
     "s cut or right-padded with repeats of pad to len characters; NULL for an empty pad or a "
     "negative len."},
    {"(b BYTES, len INTEGER, pad BYTES)", "BYTES", "The same for bytes."},
};
static const mp_fn_doc docs_replace[] = {
    {"(s STRING, old STRING, new STRING)", "STRING", "s with every old replaced by new."}};
static const mp_fn_doc docs_regexp_extract[] = {
    {"(pattern STRING, s STRING)", "STRING", "The first match of pattern in s, or NULL."},
    {"(pattern STRING, s STRING, group INTEGER)", "STRING",
     "A capturing group of the first match, or NULL."},
};
static const mp_fn_doc docs_regexp_extract_all[] = {
    {"(pattern STRING, s STRING)", "ARRAY<STRING>", "Every match of pattern in s."},
    {"(pattern STRING, s STRING, group INTEGER)", "ARRAY<STRING>",
     "A capturing group of every match."},
};
static const mp_fn_doc docs_regexp_replace[] = {
    {"(s STRING, pattern STRING, replacement STRING)", "STRING",
     "s with every match replaced ($n in the replacement is group n)."}};
static const mp_fn_doc docs_regexp_split[] = {
    {"(s STRING, pattern STRING)", "ARRAY<STRING>", "s split around the matches of pattern."}};
static const mp_fn_doc docs_split[] = {
    {"(s STRING, delimiter STRING)", "ARRAY<STRING>",
     "s split around a literal delimiter; an empty delimiter splits every character."},
    {"(b BYTES, delimiter BYTES)", "ARRAY<BYTES>", "b split around a byte delimiter."},
};
static const mp_fn_doc docs_split_to_map[] = {
    {"(s STRING, entry_delimiter STRING, kv_delimiter STRING)", "MAP<STRING, STRING>",
     "Key-value pairs read from s; a repeated key keeps its last value."}};
static const mp_fn_doc docs_instr[] = {
    {"(s STRING, sub STRING)", "INTEGER", "The 1-based position of sub in s, 0 if absent."},
    {"(s STRING, sub STRING, pos INTEGER)", "INTEGER",
     "The same, searching from pos (negative: backwards from the end)."},
    {"(s STRING, sub STRING, pos INTEGER, occurrence INTEGER)", "INTEGER",
     "The position of the n-th occurrence."},
};
static const mp_fn_doc docs_initcap[] = {
    {"(s STRING)", "STRING", "Every whitespace-separated word capitalised, the rest lower case."}};
static const mp_fn_doc docs_mask[] = {
    {"(s STRING)", "STRING",
     "s with upper-case letters as X, lower-case as x, digits as n and the rest as -."},
    {"(s STRING, upper STRING, lower STRING, digit STRING, other STRING)", "STRING",
     "s masked with the given characters; a NULL mask leaves that class alone."},
};
static const mp_fn_doc docs_mask_keep_left[] = {
    {"(s STRING, n INTEGER)", "STRING", "s masked except its first n characters."},
    {"(s STRING, n INTEGER, upper STRING, lower STRING, digit STRING, other STRING)", "STRING",
     "The same with the given mask characters."},
};
static const mp_fn_doc docs_mask_keep_right[] = {
    {"(s STRING, n INTEGER)", "STRING", "s masked except its last n characters."},
    {"(s STRING, n INTEGER, upper STRING, lower STRING, digit STRING, other STRING)", "STRING",
     "The same with the given mask characters."},
};
static const mp_fn_doc docs_mask_left[] = {
    {"(s STRING, n INTEGER)", "STRING", "s with only its first n characters masked."},
    {"(s STRING, n INTEGER, upper STRING, lower STRING, digit STRING, other STRING)", "STRING",
     "The same with the given mask characters."},
};
static const mp_fn_doc docs_mask_right[] = {
    {"(s STRING, n INTEGER)", "STRING", "s with only its last n characters masked."},
    {"(s STRING, n INTEGER, upper STRING, lower STRING, digit STRING, other STRING)", "STRING",
     "The same with the given mask characters."},
};
static const mp_fn_doc docs_chr[] = {
    {"(code INTEGER)", "STRING", "The character with that Unicode code point, NULL if invalid."},
    {"(code STRING)", "STRING", "The character written as a '\\uXXXX' escape."},
};
static const mp_fn_doc docs_encode[] = {
    {"(s STRING, input_encoding STRING, output_encoding STRING)", "STRING",
     "s re-encoded between hex, utf8, ascii and base64."}};
static const mp_fn_doc docs_to_bytes[] = {
    {"(s STRING, encoding STRING)", "BYTES", "s decoded from hex, utf8, ascii or base64."}};
static const mp_fn_doc docs_from_bytes[] = {
    {"(b BYTES, encoding STRING)", "STRING", "b encoded as hex, utf8, ascii or base64 text."}};
static const mp_fn_doc docs_uuid[] = {{"()", "STRING", "A random (version 4) UUID."}};
static const mp_fn_doc docs_elt[] = {
    {"(n INTEGER, s STRING, ...)", "STRING",
     "The n-th of the strings (1-based), NULL when out of range."}};
static const mp_fn_doc docs_field[] = {
    {"(s STRING, candidate STRING, ...)", "INTEGER",
     "The 1-based position of s among the candidates, 0 if absent or s is NULL."}};

#define SCALAR(NAME, desc, docs, bind)                                                             \
    {                                                                                              \
        NAME, MP_FN_SCALAR, "STRING", desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL, NULL  \
    }

const mp_fn_def mp_fn_string_defs[] = {
    SCALAR("LEN", "The length of a string or a byte string.", docs_len, bind_len),
    SCALAR("LCASE", "Converts a string to lower case.", docs_lcase, bind_lcase),
    SCALAR("UCASE", "Converts a string to upper case.", docs_ucase, bind_ucase),
    SCALAR("CONCAT", "Joins strings or byte strings end to end.", docs_concat, bind_concat),
    SCALAR("CONCAT_WS", "Joins strings or byte strings with a separator.", docs_concat_ws,
           bind_concat_ws),
    SCALAR("SUBSTRING", "A part of a string or byte string by position.", docs_substring,
           bind_substring),
    SCALAR("TRIM", "Removes leading and trailing whitespace.", docs_trim, bind_trim),
    SCALAR("LTRIM", "Removes leading whitespace (an mlpipe addition).", docs_ltrim, bind_ltrim),
    SCALAR("RTRIM", "Removes trailing whitespace (an mlpipe addition).", docs_rtrim, bind_rtrim),
    SCALAR("LPAD", "Pads a string on the left to a length.", docs_lpad, bind_lpad),
    SCALAR("RPAD", "Pads a string on the right to a length.", docs_rpad, bind_rpad),
    SCALAR("REPLACE", "Replaces every occurrence of a substring.", docs_replace, bind_replace),
    SCALAR("REGEXP_EXTRACT", "The first match of a regular expression.", docs_regexp_extract,
           bind_regexp_extract),
    SCALAR("REGEXP_EXTRACT_ALL", "Every match of a regular expression.", docs_regexp_extract_all,
           bind_regexp_extract_all),
    SCALAR("REGEXP_REPLACE", "Replaces every match of a regular expression.", docs_regexp_replace,
           bind_regexp_replace),
    SCALAR("REGEXP_SPLIT_TO_ARRAY", "Splits a string around a regular expression.",
           docs_regexp_split, bind_regexp_split),
    SCALAR("SPLIT", "Splits a string or byte string around a delimiter.", docs_split, bind_split),
    SCALAR("SPLIT_TO_MAP", "Reads key-value pairs from a string into a map.", docs_split_to_map,
           bind_split_to_map),
    SCALAR("INSTR", "The position of a substring.", docs_instr, bind_instr),
    SCALAR("INITCAP", "Capitalises every word.", docs_initcap, bind_initcap),
    SCALAR("MASK", "Replaces letters and digits by mask characters.", docs_mask, bind_mask),
    SCALAR("MASK_KEEP_LEFT", "Masks all but the first characters.", docs_mask_keep_left,
           bind_mask_keep_left),
    SCALAR("MASK_KEEP_RIGHT", "Masks all but the last characters.", docs_mask_keep_right,
           bind_mask_keep_right),
    SCALAR("MASK_LEFT", "Masks the first characters.", docs_mask_left, bind_mask_left),
    SCALAR("MASK_RIGHT", "Masks the last characters.", docs_mask_right, bind_mask_right),
    SCALAR("CHR", "The character with a given code point.", docs_chr, bind_chr),
    SCALAR("ENCODE", "Re-encodes a string between hex, utf8, ascii and base64.", docs_encode,
           bind_encode),
    SCALAR("TO_BYTES", "Decodes a string into bytes.", docs_to_bytes, bind_to_bytes),
    SCALAR("FROM_BYTES", "Encodes bytes as a string.", docs_from_bytes, bind_from_bytes),
    SCALAR("UUID", "A random UUID.", docs_uuid, bind_uuid),
    SCALAR("ELT", "The n-th of a list of strings.", docs_elt, bind_elt),
    SCALAR("FIELD", "The position of a string in a list of strings.", docs_field, bind_field),
};
const size_t mp_fn_string_count = MP_FN_COUNT(mp_fn_string_defs);
