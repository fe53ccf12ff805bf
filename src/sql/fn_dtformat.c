/* java.time.format.DateTimeFormatter patterns, as ksqlDB's date and time
 * functions take them ('yyyy-MM-dd HH:mm:ss.SSS', 'yyyy-MM-dd''T''HH:mm:ssX').
 *
 * Supported letters: G u y Q M L d D E a h K k H m s S A n N V z O X x Z,
 * 'quoted text' with '' for a quote, and [optional sections]. Text is
 * English (Jan, Monday, AM). Not supported (an error naming the letter):
 * week-based fields (Y w W e c F), localized names of zones (zzzz, and z
 * when parsing), and padding (p).
 *
 * Parsing is strict as java.time's default: the whole text, fixed-width
 * fields with exactly their digits (with adjacent-value parsing, so
 * 'yyyyMMdd' reads 20240131), values in range. */
#include <stdio.h>
#include <string.h>

#include "sql/fn_builtin.h"

#define MAX_TOKENS 128

typedef struct dtok {
    char kind; /* 'L' letter, 'T' literal, '[' and ']' */
    char letter;
    int count;
    const char *text;
    size_t len;
} dtok;

static const char *const MONTHS[12] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};
static const char *const DAYS[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                    "Friday", "Saturday", "Sunday"};

/* The most letters java.time accepts in a row, 0 for unsupported ones. */
static int max_count(char c)
{
    switch (c) {
    case 'G':
    case 'Q':
    case 'q':
    case 'M':
    case 'L':
    case 'E':
    case 'X':
    case 'x':
    case 'Z': return 5;
    case 'u':
    case 'y':
    case 'A':
    case 'n':
    case 'N': return 19;
    case 'd':
    case 'h':
    case 'K':
    case 'k':
    case 'H':
    case 'm':
    case 's':
    case 'V': return 2;
    case 'D':
    case 'z': return c == 'D' ? 3 : 4;
    case 'S': return 9;
    case 'a': return 1;
    case 'O': return 4;
    default: return 0;
    }
}

static int compile(const char *pat, size_t plen, dtok *t, size_t *nt, mp_error *e)
{
    size_t n = 0, i = 0;
    int depth = 0;
#define PUSH(tok)                                                                                  \
    do {                                                                                           \
        if (n == MAX_TOKENS)                                                                       \
            return mp_error_set(e, MP_EINPUT, "pattern too long: %.*s", (int)plen, pat);           \
        t[n++] = tok;                                                                              \
    } while (0)
    while (i < plen) {
        char c = pat[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
            size_t st = i;
            while (i < plen && pat[i] == c)
                i++;
            int count = (int)(i - st);
            int mx = max_count(c);
            if (c == 'Y' || c == 'w' || c == 'W' || c == 'e' || c == 'c' || c == 'F' || c == 'g' ||
                c == 'p' || c == 'B' || c == 'q' || (c == 'z' && count == 4))
                return mp_error_set(e, MP_EINPUT,
                                    "pattern letter '%c' is not supported here (pattern %.*s)", c,
                                    (int)plen, pat);
            if (mx == 0)
                return mp_error_set(e, MP_EINPUT, "Unknown pattern letter: %c", c);
            if (count > mx || (c == 'V' && count != 2) || (c == 'O' && count != 1 && count != 4))
                return mp_error_set(e, MP_EINPUT, "Too many pattern letters: %c", c);
            PUSH(((dtok){'L', c, count, NULL, 0}));
        } else if (c == '\'') {
            size_t st = ++i;
            if (i < plen && pat[i] == '\'') {
                PUSH(((dtok){'T', 0, 0, pat + i, 1}));
                i++;
                continue;
            }
            for (;;) {
                if (i >= plen)
                    return mp_error_set(e, MP_EINPUT,
                                        "Pattern ends with an incomplete string literal: %.*s",
                                        (int)plen, pat);
                if (pat[i] == '\'') {
                    if (i + 1 < plen && pat[i + 1] == '\'') {
                        PUSH(((dtok){'T', 0, 0, pat + st, i - st + 1})); /* text and one quote */
                        i += 2;
                        st = i;
                        continue;
                    }
                    if (i > st)
                        PUSH(((dtok){'T', 0, 0, pat + st, i - st}));
                    i++;
                    break;
                }
                i++;
            }
        } else if (c == '[') {
            depth++;
            PUSH(((dtok){'[', 0, 0, NULL, 0}));
            i++;
        } else if (c == ']') {
            if (depth == 0)
                return mp_error_set(e, MP_EINPUT,
                                    "Pattern invalid as it contains ] without previous [");
            depth--;
            PUSH(((dtok){']', 0, 0, NULL, 0}));
            i++;
        } else if (c == '{' || c == '}' || c == '#') {
            return mp_error_set(e, MP_EINPUT, "Pattern includes reserved character: '%c'", c);
        } else {
            PUSH(((dtok){'T', 0, 0, pat + i, 1}));
            i++;
        }
    }
    while (depth-- > 0)
        PUSH(((dtok){']', 0, 0, NULL, 0}));
#undef PUSH
    *nt = n;
    return 0;
}

static bool is_date_letter(char c)
{
    return strchr("GuyQMLdDE", c) != NULL;
}
static bool is_time_letter(char c)
{
    return strchr("ahKkHmsSAnN", c) != NULL;
}
static bool is_zone_letter(char c)
{
    return strchr("VzOXxZ", c) != NULL;
}

static const char *field_name(char c)
{
    switch (c) {
    case 'G': return "Era";
    case 'u': return "Year";
    case 'y': return "YearOfEra";
    case 'Q': return "QuarterOfYear";
    case 'M':
    case 'L': return "MonthOfYear";
    case 'd': return "DayOfMonth";
    case 'D': return "DayOfYear";
    case 'E': return "DayOfWeek";
    case 'a': return "AmPmOfDay";
    case 'h': return "ClockHourOfAmPm";
    case 'K': return "HourOfAmPm";
    case 'k': return "ClockHourOfDay";
    case 'H': return "HourOfDay";
    case 'm': return "MinuteOfHour";
    case 's': return "SecondOfMinute";
    case 'S':
    case 'n': return "NanoOfSecond";
    case 'A': return "MilliOfDay";
    case 'N': return "NanoOfDay";
    default: return "OffsetSeconds";
    }
}

/* ---- formatting ---- */

static void put_num(mp_buf *b, int64_t v, int width)
{
    char tmp[32];
    if (v < 0) {
        mp_buf_putc(b, '-');
        snprintf(tmp, sizeof tmp, "%0*llu", width, (unsigned long long)(0 - (uint64_t)v));
    } else {
        snprintf(tmp, sizeof tmp, "%0*lld", width, (long long)v);
    }
    mp_buf_puts(b, tmp);
}

/* Java's year printing: 'yy' two digits; 'y' and 'yyy' plain; 4 or more
 * padded, with '+' once the value is wider than the pad (EXCEEDS_PAD). */
static void put_year(mp_buf *b, int64_t v, int count)
{
    if (count == 2) {
        put_num(b, mp_fn_floor_mod(v, 100), 2);
        return;
    }
    if (count >= 4 && v > 0) {
        char tmp[32];
        int len = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
        if (len > count)
            mp_buf_putc(b, '+');
    }
    put_num(b, v, count == 1 ? 1 : count);
}

/* +HH, +HHmm, +HHMM, +HH:MM, +HHMMss, +HH:MM:ss by java.time's offset
 * pattern number (0..5 as in X's counts 1..5). */
static void put_offset(mp_buf *b, int32_t off, int style)
{
    int32_t a = off < 0 ? -off : off;
    int h = a / 3600, m = a / 60 % 60, s = a % 60;
    mp_buf_printf(b, "%c%02d", off < 0 ? '-' : '+', h);
    switch (style) {
    case 1: /* +HHmm */
        if (m || s)
            mp_buf_printf(b, "%02d", m);
        break;
    case 2: mp_buf_printf(b, "%02d", m); break;
    case 3: mp_buf_printf(b, ":%02d", m); break;
    case 4:
        mp_buf_printf(b, "%02d", m);
        if (s)
            mp_buf_printf(b, "%02d", s);
        break;
    case 5:
        mp_buf_printf(b, ":%02d", m);
        if (s)
            mp_buf_printf(b, ":%02d", s);
        break;
    default: break;
    }
}

static int dow_of(const mp_fn_dt *dt)
{
    /* 1 Monday .. 7 Sunday; 1970-01-01 was a Thursday */
    int64_t days = mp_fn_days_from_civil(dt->year, dt->month, dt->day);
    return (int)mp_fn_floor_mod(days + 3, 7) + 1;
}

/* Formats token k; returns 1 when the value lacks the field. */
static int format_letter(const dtok *t, const mp_fn_dt *dt, mp_buf *b)
{
    char c = t->letter;
    int n = t->count;
    if ((is_date_letter(c) && !(dt->have & MP_FN_DT_DATE)) ||
        (is_time_letter(c) && !(dt->have & MP_FN_DT_TIME)) ||
        (is_zone_letter(c) && !(dt->have & MP_FN_DT_ZONE)))
        return 1;
    switch (c) {
    case 'G': {
        bool ad = dt->year > 0;
        mp_buf_puts(b, n == 4   ? (ad ? "Anno Domini" : "Before Christ")
                       : n == 5 ? (ad ? "A" : "B")
                                : (ad ? "AD" : "BC"));
        break;
    }
    case 'u': put_year(b, dt->year, n); break;
    case 'y': put_year(b, dt->year > 0 ? dt->year : 1 - dt->year, n); break;
    case 'Q': {
        int q = (dt->month - 1) / 3 + 1;
        static const char *const qs[4] = {"1st quarter", "2nd quarter", "3rd quarter",
                                          "4th quarter"};
        if (n <= 2 || n == 5)
            put_num(b, q, n == 2 ? 2 : 1);
        else if (n == 3)
            mp_buf_printf(b, "Q%d", q);
        else
            mp_buf_puts(b, qs[q - 1]);
        break;
    }
    case 'M':
    case 'L':
        if (n <= 2)
            put_num(b, dt->month, n);
        else if (n == 3)
            mp_buf_append(b, MONTHS[dt->month - 1], 3);
        else if (n == 4)
            mp_buf_puts(b, MONTHS[dt->month - 1]);
        else
            mp_buf_putc(b, MONTHS[dt->month - 1][0]);
        break;
    case 'd': put_num(b, dt->day, n); break;
    case 'D': {
        int64_t doy = mp_fn_days_from_civil(dt->year, dt->month, dt->day) -
                      mp_fn_days_from_civil(dt->year, 1, 1) + 1;
        put_num(b, doy, n);
        break;
    }
    case 'E': {
        const char *name = DAYS[dow_of(dt) - 1];
        if (n <= 3)
            mp_buf_append(b, name, 3);
        else if (n == 4)
            mp_buf_puts(b, name);
        else
            mp_buf_putc(b, name[0]);
        break;
    }
    case 'a': mp_buf_puts(b, dt->hour < 12 ? "AM" : "PM"); break;
    case 'h': put_num(b, dt->hour % 12 == 0 ? 12 : dt->hour % 12, n); break;
    case 'K': put_num(b, dt->hour % 12, n); break;
    case 'k': put_num(b, dt->hour == 0 ? 24 : dt->hour, n); break;
    case 'H': put_num(b, dt->hour, n); break;
    case 'm': put_num(b, dt->minute, n); break;
    case 's': put_num(b, dt->second, n); break;
    case 'S': {
        char tmp[16];
        snprintf(tmp, sizeof tmp, "%09d", dt->nano);
        mp_buf_append(b, tmp, (size_t)n);
        break;
    }
    case 'n': put_num(b, dt->nano, n); break;
    case 'A':
        put_num(b,
                ((int64_t)dt->hour * 3600 + dt->minute * 60 + dt->second) * 1000 +
                    dt->nano / 1000000,
                n);
        break;
    case 'N':
        put_num(b,
                ((int64_t)dt->hour * 3600 + dt->minute * 60 + dt->second) * 1000000000 + dt->nano,
                n);
        break;
    case 'V':
        if (dt->zone)
            mp_buf_puts(b, dt->zone->id);
        else if (dt->offset == 0)
            mp_buf_putc(b, 'Z');
        else
            put_offset(b, dt->offset, 5);
        break;
    case 'z': {
        const char *ab = dt->zone ? mp_fn_tz_abbrev(dt->zone, dt->instant) : NULL;
        if (ab && ab[0] != '+' && ab[0] != '-')
            mp_buf_puts(b, ab);
        else if (dt->zone && dt->zone->fixed)
            mp_buf_puts(b, dt->zone->id);
        else if (dt->offset == 0)
            mp_buf_putc(b, 'Z');
        else
            put_offset(b, dt->offset, 5);
        break;
    }
    case 'O': {
        int32_t off = dt->offset, a = off < 0 ? -off : off;
        mp_buf_puts(b, "GMT");
        if (off == 0)
            break;
        if (n == 4) {
            put_offset(b, off, 5);
        } else {
            mp_buf_printf(b, "%c%d", off < 0 ? '-' : '+', a / 3600);
            if (a % 3600)
                mp_buf_printf(b, ":%02d", a / 60 % 60);
            if (a % 60)
                mp_buf_printf(b, ":%02d", a % 60);
        }
        break;
    }
    case 'X':
        if (dt->offset == 0)
            mp_buf_putc(b, 'Z');
        else
            put_offset(b, dt->offset, n);
        break;
    case 'x':
        if (dt->offset == 0 && n == 1)
            mp_buf_puts(b, "+00");
        else
            put_offset(b, dt->offset, n);
        break;
    case 'Z':
        if (n <= 3) {
            put_offset(b, dt->offset, 2);
        } else if (n == 4) {
            mp_buf_puts(b, "GMT");
            if (dt->offset)
                put_offset(b, dt->offset, 5);
        } else if (dt->offset == 0) {
            mp_buf_putc(b, 'Z');
        } else {
            put_offset(b, dt->offset, 5);
        }
        break;
    default: break;
    }
    return 0;
}

/* Formats tokens [from, to) at depth; returns 1 (unsupported field) or a
 * negative error. *end is the index after the section. */
static int format_range(const dtok *t, size_t from, size_t nt, const mp_fn_dt *dt, mp_buf *b,
                        size_t *end, char *missing)
{
    size_t i = from;
    while (i < nt) {
        const dtok *k = &t[i];
        if (k->kind == ']') {
            *end = i + 1;
            return 0;
        }
        if (k->kind == '[') {
            /* an optional section prints only when every field is there */
            mp_buf sub = {0};
            size_t after = nt;
            char miss = 0;
            int r = format_range(t, i + 1, nt, dt, &sub, &after, &miss);
            if (r == 0)
                mp_buf_append(b, sub.data ? sub.data : "", sub.len);
            if (sub.oom)
                b->oom = 1;
            mp_buf_free(&sub);
            i = after;
            continue;
        }
        if (k->kind == 'T') {
            mp_buf_append(b, k->text, k->len);
        } else if (format_letter(k, dt, b)) {
            *missing = k->letter;
            /* skip to the end of this section */
            int depth = 0;
            while (i < nt && !(t[i].kind == ']' && depth == 0)) {
                if (t[i].kind == '[')
                    depth++;
                else if (t[i].kind == ']')
                    depth--;
                i++;
            }
            *end = i < nt ? i + 1 : nt;
            return 1;
        }
        i++;
    }
    *end = nt;
    return 0;
}

int mp_fn_dt_format(const char *pat, size_t plen, const mp_fn_dt *dt, mp_buf *out, mp_error *e)
{
    dtok t[MAX_TOKENS];
    size_t nt;
    int rc = compile(pat, plen, t, &nt, e);
    if (rc)
        return rc;
    size_t end;
    char missing = 0;
    if (format_range(t, 0, nt, dt, out, &end, &missing) == 1) {
        if (is_zone_letter(missing) && (missing == 'V' || missing == 'z'))
            return mp_error_set(e, MP_EINPUT, "Unable to extract ZoneId from temporal");
        return mp_error_set(e, MP_EINPUT, "Unsupported field: %s", field_name(missing));
    }
    return out->oom ? mp_error_set(e, MP_ENOMEM, "out of memory") : 0;
}

/* ---- parsing ---- */

typedef struct pstate {
    const char *s;
    size_t n, pos;
    bool ci;
    mp_fn_dt_parsed *p;
} pstate;

static bool match_text(pstate *ps, const char *w, size_t wl)
{
    if (ps->n - ps->pos < wl)
        return false;
    const char *s = ps->s + ps->pos;
    for (size_t i = 0; i < wl; i++) {
        char a = s[i], b = w[i];
        if (ps->ci) {
            if (a >= 'A' && a <= 'Z')
                a = (char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (char)(b + 32);
        }
        if (a != b)
            return false;
    }
    ps->pos += wl;
    return true;
}

/* Digits available at the current position. */
static size_t digits_at(const pstate *ps, size_t from)
{
    size_t k = from;
    while (k < ps->n && ps->s[k] >= '0' && ps->s[k] <= '9')
        k++;
    return k - from;
}

/* The fixed width a numeric token needs, 0 when it is not fixed-width or
 * not numeric (used for adjacent-value parsing). */
static int fixed_width(const dtok *t)
{
    if (t->kind != 'L')
        return 0;
    switch (t->letter) {
    case 'd':
    case 'h':
    case 'K':
    case 'k':
    case 'H':
    case 'm':
    case 's': return t->count == 2 ? 2 : 0;
    case 'M':
    case 'L':
    case 'Q': return t->count == 2 ? 2 : 0;
    case 'D': return t->count == 3 ? 3 : 0;
    case 'S': return t->count;
    case 'y':
    case 'u': return t->count == 2 ? 2 : 0;
    default: return 0;
    }
}

static bool is_numeric(const dtok *t)
{
    if (t->kind != 'L')
        return false;
    switch (t->letter) {
    case 'M':
    case 'L':
    case 'Q': return t->count <= 2;
    case 'E':
    case 'a':
    case 'G':
    case 'V':
    case 'z':
    case 'O':
    case 'X':
    case 'x':
    case 'Z': return false;
    default: return true;
    }
}

static int set_field(pstate *ps, int f, int64_t v, mp_error *e)
{
    if (ps->p->has[f] && ps->p->f[f] != v)
        return mp_error_set(e, MP_EINPUT, "Conflict found: a field has two values (%lld, %lld)",
                            (long long)ps->p->f[f], (long long)v);
    ps->p->has[f] = true;
    ps->p->f[f] = v;
    return 0;
}

static int parse_err(const pstate *ps, mp_error *e)
{
    return mp_error_set(e, MP_EINPUT, "Text '%.*s' could not be parsed at index %zu",
                        (int)(ps->n > 200 ? 200 : ps->n), ps->s, ps->pos);
}

/* Reads min..max digits (and a sign when allowed) as a number. */
static bool read_num(pstate *ps, size_t min, size_t max, bool sign, int64_t *out)
{
    size_t pos = ps->pos;
    bool neg = false;
    if (sign && pos < ps->n && (ps->s[pos] == '-' || ps->s[pos] == '+')) {
        neg = ps->s[pos] == '-';
        pos++;
    }
    size_t avail = digits_at(ps, pos);
    if (avail < min)
        return false;
    size_t take = avail < max ? avail : max;
    if (take > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < take; i++)
        v = v * 10 + (ps->s[pos + i] - '0');
    ps->pos = pos + take;
    *out = neg ? -v : v;
    return true;
}

static int text_choice(pstate *ps, const char *const *names, int count, size_t len)
{
    for (int i = 0; i < count; i++) {
        size_t wl = len ? len : strlen(names[i]);
        if (match_text(ps, names[i], wl))
            return i;
    }
    return -1;
}

static bool two_digits(const pstate *ps, size_t pos)
{
    return pos + 2 <= ps->n && digits_at(ps, pos) >= 2;
}

/* An offset in X's styles: 1 +HHmm, 2 +HHMM, 3 +HH:MM, 4 +HHMMss,
 * 5 +HH:MM:ss (lower-case parts optional); zero_text ("Z", "+00") also
 * means zero. */
static bool read_offset(pstate *ps, int style, const char *zero_text, int32_t *off)
{
    if (zero_text && match_text(ps, zero_text, strlen(zero_text))) {
        *off = 0;
        return true;
    }
    size_t pos = ps->pos;
    if (pos >= ps->n || (ps->s[pos] != '+' && ps->s[pos] != '-'))
        return false;
    int sign = ps->s[pos] == '-' ? -1 : 1;
    pos++;
    if (!two_digits(ps, pos))
        return false;
    int h = (ps->s[pos] - '0') * 10 + (ps->s[pos + 1] - '0'), m = 0, sec = 0;
    pos += 2;
    bool colon = style == 3 || style == 5;
    size_t skip = colon ? 1 : 0;
    bool got_min = false;
    if ((!colon || (pos < ps->n && ps->s[pos] == ':')) && two_digits(ps, pos + skip)) {
        m = (ps->s[pos + skip] - '0') * 10 + (ps->s[pos + skip + 1] - '0');
        pos += skip + 2;
        got_min = true;
    }
    if (!got_min && style >= 2)
        return false;
    if (got_min && style >= 4 && (!colon || (pos < ps->n && ps->s[pos] == ':')) &&
        two_digits(ps, pos + skip)) {
        sec = (ps->s[pos + skip] - '0') * 10 + (ps->s[pos + skip + 1] - '0');
        pos += skip + 2;
    }
    if (h > 18 || m > 59 || sec > 59)
        return false;
    *off = sign * (h * 3600 + m * 60 + sec);
    ps->pos = pos;
    return true;
}

static int parse_letter(pstate *ps, const dtok *t, int reserve, mp_error *e)
{
    char c = t->letter;
    int n = t->count;
    int64_t v = 0;
    size_t maxd;
    int f = -1;
    switch (c) {
    case 'G': {
        static const char *const full[2] = {"Before Christ", "Anno Domini"};
        static const char *const abbr[2] = {"BC", "AD"};
        static const char *const narrow[2] = {"B", "A"};
        int k = text_choice(ps, n == 4 ? full : n == 5 ? narrow : abbr, 2, 0);
        if (k < 0)
            return parse_err(ps, e);
        return set_field(ps, MP_FN_F_ERA, k, e);
    }
    case 'u':
    case 'y': {
        f = c == 'u' ? MP_FN_F_YEAR : MP_FN_F_YOE;
        if (n == 2) {
            if (!read_num(ps, 2, 2, false, &v))
                return parse_err(ps, e);
            v += 2000;
        } else {
            maxd = digits_at(ps, ps->pos + (ps->pos < ps->n &&
                                            (ps->s[ps->pos] == '+' || ps->s[ps->pos] == '-')));
            maxd = maxd > (size_t)reserve ? maxd - (size_t)reserve : 0;
            if (maxd > 10)
                maxd = 10;
            if (!read_num(ps, n == 1 ? 1 : (size_t)n, maxd, c == 'u' || n >= 4, &v))
                return parse_err(ps, e);
        }
        return set_field(ps, f, v, e);
    }
    case 'Q':
        if (n >= 3) {
            static const char *const qs[4] = {"Q1", "Q2", "Q3", "Q4"};
            static const char *const ql[4] = {"1st quarter", "2nd quarter", "3rd quarter",
                                              "4th quarter"};
            int k = text_choice(ps, n == 4 ? ql : qs, 4, 0);
            if (k < 0)
                return parse_err(ps, e);
            return set_field(ps, MP_FN_F_QUARTER, k + 1, e);
        }
        f = MP_FN_F_QUARTER;
        break;
    case 'M':
    case 'L':
        if (n >= 3) {
            int k = text_choice(ps, MONTHS, 12, n == 3 ? 3 : n == 5 ? 1 : 0);
            if (k < 0)
                return parse_err(ps, e);
            return set_field(ps, MP_FN_F_MONTH, k + 1, e);
        }
        f = MP_FN_F_MONTH;
        break;
    case 'E': {
        int k = text_choice(ps, DAYS, 7, n <= 3 ? 3 : n == 5 ? 1 : 0);
        if (k < 0)
            return parse_err(ps, e);
        return set_field(ps, MP_FN_F_DOW, k + 1, e);
    }
    case 'a': {
        static const char *const ap[2] = {"AM", "PM"};
        int k = text_choice(ps, ap, 2, 0);
        if (k < 0)
            return parse_err(ps, e);
        return set_field(ps, MP_FN_F_AMPM, k, e);
    }
    case 'd': f = MP_FN_F_DAY; break;
    case 'D': f = MP_FN_F_DOY; break;
    case 'h': f = MP_FN_F_CLOCK_AP; break;
    case 'K': f = MP_FN_F_HOUR_AP; break;
    case 'k': f = MP_FN_F_CLOCK_DAY; break;
    case 'H': f = MP_FN_F_HOUR; break;
    case 'm': f = MP_FN_F_MINUTE; break;
    case 's': f = MP_FN_F_SECOND; break;
    case 'A': f = MP_FN_F_MILLI_DAY; break;
    case 'N': f = MP_FN_F_NANO_DAY; break;
    case 'n': f = MP_FN_F_NANO; break;
    case 'S': {
        if (!read_num(ps, (size_t)n, (size_t)n, false, &v))
            return parse_err(ps, e);
        for (int k = n; k < 9; k++)
            v *= 10;
        return set_field(ps, MP_FN_F_NANO, v, e);
    }
    case 'V': {
        size_t st = ps->pos;
        while (ps->pos < ps->n) {
            char ch = ps->s[ps->pos];
            if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '~' || ch == '/' || ch == '.' || ch == '_' ||
                  ch == '+' || ch == '-' || ch == ':'))
                break;
            ps->pos++;
        }
        if (ps->pos == st)
            return parse_err(ps, e);
        mp_error ze;
        if (mp_fn_tz_get(ps->s + st, ps->pos - st, &ps->p->zone, &ze)) {
            ps->pos = st;
            return parse_err(ps, e);
        }
        ps->p->has_zone = true;
        return 0;
    }
    case 'z': return mp_error_set(e, MP_EINPUT, "pattern letter 'z' cannot be parsed; use VV or X");
    case 'O': {
        if (!match_text(ps, "GMT", 3))
            return parse_err(ps, e);
        int32_t off = 0;
        if (ps->pos < ps->n && (ps->s[ps->pos] == '+' || ps->s[ps->pos] == '-')) {
            int sign = ps->s[ps->pos] == '-' ? -1 : 1;
            ps->pos++;
            int64_t h, m = 0, s = 0;
            if (!read_num(ps, n == 4 ? 2 : 1, 2, false, &h))
                return parse_err(ps, e);
            if (ps->pos < ps->n && ps->s[ps->pos] == ':') {
                ps->pos++;
                if (!read_num(ps, 2, 2, false, &m))
                    return parse_err(ps, e);
                if (ps->pos < ps->n && ps->s[ps->pos] == ':') {
                    ps->pos++;
                    if (!read_num(ps, 2, 2, false, &s))
                        return parse_err(ps, e);
                }
            }
            off = sign * (int32_t)(h * 3600 + m * 60 + s);
        }
        ps->p->has_offset = true;
        ps->p->offset = off;
        return 0;
    }
    case 'X':
    case 'x':
    case 'Z': {
        int32_t off;
        bool ok;
        if (c == 'Z' && n == 4) {
            if (!match_text(ps, "GMT", 3))
                return parse_err(ps, e);
            ok = read_offset(ps, 5, NULL, &off);
            if (!ok) {
                off = 0;
                ok = true;
            }
        } else if (c == 'Z') {
            ok = n <= 3 ? read_offset(ps, 2, "+0000", &off) : read_offset(ps, 5, "Z", &off);
        } else {
            static const char *const xz[5] = {"+00", "+0000", "+00:00", "+0000", "+00:00"};
            ok = read_offset(ps, n == 1 ? 1 : n, c == 'X' ? "Z" : xz[n - 1], &off);
        }
        if (!ok)
            return parse_err(ps, e);
        ps->p->has_offset = true;
        ps->p->offset = off;
        return 0;
    }
    default: return mp_error_set(e, MP_EINPUT, "pattern letter '%c' cannot be parsed", c);
    }
    /* a plain number: fixed width for 2 (3 for DDD) letters, else greedy
     * but leaving the digits that adjacent fixed-width fields need */
    size_t fw = (size_t)fixed_width(t);
    if (fw) {
        if (!read_num(ps, fw, fw, false, &v))
            return parse_err(ps, e);
    } else {
        size_t avail = digits_at(ps, ps->pos);
        maxd = avail > (size_t)reserve ? avail - (size_t)reserve : 0;
        if (maxd > 18)
            maxd = 18;
        size_t min = (size_t)(c == 'D' && n == 2 ? 2 : 1);
        if (c == 'D' && n == 2 && maxd > 3)
            maxd = 3;
        if (!read_num(ps, min, maxd, false, &v))
            return parse_err(ps, e);
    }
    return set_field(ps, f, v, e);
}

static int parse_range(pstate *ps, const dtok *t, size_t from, size_t nt, size_t *end, mp_error *e)
{
    size_t i = from;
    while (i < nt) {
        const dtok *k = &t[i];
        if (k->kind == ']') {
            *end = i + 1;
            return 0;
        }
        if (k->kind == '[') {
            /* try the section; on failure forget it and go on after it */
            pstate save = *ps;
            mp_fn_dt_parsed saved = *ps->p;
            size_t after = nt;
            mp_error sub;
            if (parse_range(ps, t, i + 1, nt, &after, &sub)) {
                *ps = save;
                *ps->p = saved;
                int depth = 0;
                size_t j = i + 1;
                while (j < nt && !(t[j].kind == ']' && depth == 0)) {
                    if (t[j].kind == '[')
                        depth++;
                    else if (t[j].kind == ']')
                        depth--;
                    j++;
                }
                after = j < nt ? j + 1 : nt;
            }
            i = after;
            continue;
        }
        if (k->kind == 'T') {
            if (!match_text(ps, k->text, k->len))
                return parse_err(ps, e);
        } else {
            int reserve = 0;
            if (is_numeric(k) && !fixed_width(k))
                for (size_t j = i + 1; j < nt && is_numeric(&t[j]) && fixed_width(&t[j]); j++)
                    reserve += fixed_width(&t[j]);
            int rc = parse_letter(ps, k, reserve, e);
            if (rc)
                return rc;
        }
        i++;
    }
    *end = nt;
    return 0;
}

static const struct {
    int field;
    int64_t lo, hi;
    const char *name;
} RANGES[] = {
    {MP_FN_F_MONTH, 1, 12, "MonthOfYear"},
    {MP_FN_F_DAY, 1, 31, "DayOfMonth"},
    {MP_FN_F_DOY, 1, 366, "DayOfYear"},
    {MP_FN_F_DOW, 1, 7, "DayOfWeek"},
    {MP_FN_F_QUARTER, 1, 4, "QuarterOfYear"},
    {MP_FN_F_HOUR, 0, 23, "HourOfDay"},
    {MP_FN_F_CLOCK_AP, 1, 12, "ClockHourOfAmPm"},
    {MP_FN_F_HOUR_AP, 0, 11, "HourOfAmPm"},
    {MP_FN_F_CLOCK_DAY, 1, 24, "ClockHourOfDay"},
    {MP_FN_F_MINUTE, 0, 59, "MinuteOfHour"},
    {MP_FN_F_SECOND, 0, 59, "SecondOfMinute"},
    {MP_FN_F_NANO, 0, 999999999, "NanoOfSecond"},
    {MP_FN_F_MILLI_DAY, 0, 86399999, "MilliOfDay"},
    {MP_FN_F_NANO_DAY, 0, 86399999999999LL, "NanoOfDay"},
    {MP_FN_F_YOE, 1, 999999999, "YearOfEra"},
    {MP_FN_F_YEAR, -999999999, 999999999, "Year"},
};

int mp_fn_dt_parse(const char *pat, size_t plen, const char *s, size_t n, bool case_insensitive,
                   mp_fn_dt_parsed *p, mp_error *e)
{
    memset(p, 0, sizeof *p);
    dtok t[MAX_TOKENS];
    size_t nt;
    int rc = compile(pat, plen, t, &nt, e);
    if (rc)
        return rc;
    pstate ps = {s, n, 0, case_insensitive, p};
    size_t end;
    rc = parse_range(&ps, t, 0, nt, &end, e);
    if (rc)
        return rc;
    if (ps.pos != n)
        return mp_error_set(e, MP_EINPUT,
                            "Text '%.*s' could not be parsed, unparsed text found at index %zu",
                            (int)(n > 200 ? 200 : n), s, ps.pos);
    for (size_t k = 0; k < sizeof RANGES / sizeof RANGES[0]; k++) {
        int f = RANGES[k].field;
        if (p->has[f] && (p->f[f] < RANGES[k].lo || p->f[f] > RANGES[k].hi))
            return mp_error_set(e, MP_EINPUT,
                                "Text '%.*s' could not be parsed: Invalid value for %s "
                                "(valid values %lld - %lld): %lld",
                                (int)(n > 200 ? 200 : n), s, RANGES[k].name,
                                (long long)RANGES[k].lo, (long long)RANGES[k].hi,
                                (long long)p->f[f]);
    }
    return 0;
}

bool mp_fn_dt_has_date(const mp_fn_dt_parsed *p)
{
    return p->has[MP_FN_F_YEAR] || p->has[MP_FN_F_YOE] || p->has[MP_FN_F_ERA] ||
           p->has[MP_FN_F_MONTH] || p->has[MP_FN_F_DAY] || p->has[MP_FN_F_DOY] ||
           p->has[MP_FN_F_DOW] || p->has[MP_FN_F_QUARTER];
}

bool mp_fn_dt_has_time(const mp_fn_dt_parsed *p)
{
    for (int f = MP_FN_F_HOUR; f <= MP_FN_F_NANO_DAY; f++)
        if (p->has[f])
            return true;
    return false;
}

static bool parsed_year(const mp_fn_dt_parsed *p, int64_t *y)
{
    if (p->has[MP_FN_F_YEAR]) {
        *y = p->f[MP_FN_F_YEAR];
        return true;
    }
    if (p->has[MP_FN_F_YOE]) {
        bool bc = p->has[MP_FN_F_ERA] && p->f[MP_FN_F_ERA] == 0;
        *y = bc ? 1 - p->f[MP_FN_F_YOE] : p->f[MP_FN_F_YOE];
        return true;
    }
    return false;
}

int mp_fn_dt_parsed_date(const mp_fn_dt_parsed *p, bool need_full, int64_t *days, mp_error *e)
{
    int64_t y;
    bool has_y = parsed_year(p, &y);
    if (has_y && (p->has[MP_FN_F_MONTH] && p->has[MP_FN_F_DAY])) {
        int m = (int)p->f[MP_FN_F_MONTH], d = (int)p->f[MP_FN_F_DAY];
        int dim = mp_fn_days_in_month(y, m);
        if (d > dim)
            d = dim; /* SMART: past the month's end means its last day */
        *days = mp_fn_days_from_civil(y, m, d);
    } else if (has_y && p->has[MP_FN_F_DOY]) {
        if (p->f[MP_FN_F_DOY] == 366 && !mp_fn_is_leap(y))
            return mp_error_set(e, MP_EINPUT,
                                "Invalid date 'DayOfYear 366' as '%lld' is not a leap year",
                                (long long)y);
        *days = mp_fn_days_from_civil(y, 1, 1) + p->f[MP_FN_F_DOY] - 1;
    } else if (need_full) {
        return mp_error_set(e, MP_EINPUT,
                            "Unable to obtain a date: the text needs a year with a month and "
                            "day, or a day of the year");
    } else {
        /* ksqlDB's defaults: 1970-01-01, then each field in ChronoField order */
        int64_t yy = 1970;
        int m = 1, d = 1;
        if (p->has[MP_FN_F_DOW]) {
            int64_t cur = mp_fn_days_from_civil(yy, m, d);
            int dow = (int)mp_fn_floor_mod(cur + 3, 7) + 1;
            mp_fn_civil_from_days(cur + p->f[MP_FN_F_DOW] - dow, &yy, &m, &d);
        }
        if (p->has[MP_FN_F_DAY]) {
            if (p->f[MP_FN_F_DAY] > mp_fn_days_in_month(yy, m))
                return mp_error_set(e, MP_EINPUT, "Invalid date: day %lld of month %d",
                                    (long long)p->f[MP_FN_F_DAY], m);
            d = (int)p->f[MP_FN_F_DAY];
        }
        if (p->has[MP_FN_F_DOY]) {
            if (p->f[MP_FN_F_DOY] == 366 && !mp_fn_is_leap(yy))
                return mp_error_set(e, MP_EINPUT,
                                    "Leap day cannot be parsed without supplying the year field");
            mp_fn_civil_from_days(mp_fn_days_from_civil(yy, 1, 1) + p->f[MP_FN_F_DOY] - 1, &yy, &m,
                                  &d);
        }
        if (p->has[MP_FN_F_MONTH]) {
            m = (int)p->f[MP_FN_F_MONTH];
            if (d > mp_fn_days_in_month(yy, m))
                d = mp_fn_days_in_month(yy, m);
        }
        if (has_y) {
            yy = y;
            if (d > mp_fn_days_in_month(yy, m))
                d = mp_fn_days_in_month(yy, m);
        }
        *days = mp_fn_days_from_civil(yy, m, d);
        return 0;
    }
    if (p->has[MP_FN_F_DOW]) {
        int dow = (int)mp_fn_floor_mod(*days + 3, 7) + 1;
        if (dow != p->f[MP_FN_F_DOW])
            return mp_error_set(e, MP_EINPUT,
                                "Conflict found: Field DayOfWeek %d differs from DayOfWeek %lld "
                                "derived from the date",
                                dow, (long long)p->f[MP_FN_F_DOW]);
    }
    if (p->has[MP_FN_F_MONTH] && p->has[MP_FN_F_QUARTER] &&
        (p->f[MP_FN_F_MONTH] - 1) / 3 + 1 != p->f[MP_FN_F_QUARTER])
        return mp_error_set(e, MP_EINPUT, "Conflict found: the quarter does not match the month");
    return 0;
}

int mp_fn_dt_parsed_time(const mp_fn_dt_parsed *p, bool need_hour, int64_t *nanos, mp_error *e)
{
    int64_t hour = 0, minute = 0, second = 0, nano = 0;
    bool has_hour = true;
    if (p->has[MP_FN_F_NANO_DAY]) {
        int64_t v = p->f[MP_FN_F_NANO_DAY];
        *nanos = v;
        return 0;
    }
    if (p->has[MP_FN_F_MILLI_DAY]) {
        *nanos = p->f[MP_FN_F_MILLI_DAY] * 1000000 +
                 (p->has[MP_FN_F_NANO] ? p->f[MP_FN_F_NANO] % 1000000 : 0);
        return 0;
    }
    int64_t pm = p->has[MP_FN_F_AMPM] ? p->f[MP_FN_F_AMPM] : 0;
    if (p->has[MP_FN_F_HOUR]) {
        hour = p->f[MP_FN_F_HOUR];
        if (p->has[MP_FN_F_AMPM] && (hour >= 12) != (pm == 1))
            return mp_error_set(e, MP_EINPUT,
                                "Conflict found: HourOfDay %lld differs from AmPmOfDay %lld",
                                (long long)hour, (long long)pm);
    } else if (p->has[MP_FN_F_CLOCK_DAY]) {
        hour = p->f[MP_FN_F_CLOCK_DAY] % 24;
    } else if (p->has[MP_FN_F_CLOCK_AP]) {
        hour = p->f[MP_FN_F_CLOCK_AP] % 12 + 12 * pm;
        has_hour = p->has[MP_FN_F_AMPM];
    } else if (p->has[MP_FN_F_HOUR_AP]) {
        hour = p->f[MP_FN_F_HOUR_AP] + 12 * pm;
        has_hour = p->has[MP_FN_F_AMPM];
    } else {
        hour = 12 * pm;
        has_hour = false;
    }
    if (need_hour && !has_hour)
        return mp_error_set(e, MP_EINPUT,
                            "Unable to obtain a time: the text needs an hour of the day");
    if (p->has[MP_FN_F_MINUTE])
        minute = p->f[MP_FN_F_MINUTE];
    if (p->has[MP_FN_F_SECOND])
        second = p->f[MP_FN_F_SECOND];
    if (p->has[MP_FN_F_NANO])
        nano = p->f[MP_FN_F_NANO];
    *nanos = ((hour * 60 + minute) * 60 + second) * 1000000000 + nano;
    return 0;
}
