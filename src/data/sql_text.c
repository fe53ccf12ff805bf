#include "data/sql_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mp_utf8_valid(const void *data, size_t n, size_t *bad)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs are the common case: check 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            goto fail;
        }
        if (n - i - 1 < need)
            goto fail;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = p[i + k];
            if ((cc & 0xC0) != 0x80)
                goto fail;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            goto fail;
        i += need + 1;
    }
    return true;
fail:
    if (bad)
        *bad = i;
    return false;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void mp_base64_encode(const void *data, size_t n, mp_buf *out)
{
    const uint8_t *p = data;
    char *w = mp_buf_reserve(out, (n + 2) / 3 * 4);
    if (!w)
        return;
    size_t k = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        w[k++] = B64[v >> 18];
        w[k++] = B64[(v >> 12) & 63];
        w[k++] = B64[(v >> 6) & 63];
        w[k++] = B64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        w[k++] = B64[v >> 18];
        w[k++] = B64[(v >> 12) & 63];
        w[k++] = '=';
        w[k++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        w[k++] = B64[v >> 18];
        w[k++] = B64[(v >> 12) & 63];
        w[k++] = B64[(v >> 6) & 63];
        w[k++] = '=';
    }
    out->len += k;
    out->data[out->len] = '\0';
}

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int mp_base64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen, size_t *bad)
{
    size_t end = n;
    /* Up to two '=' at the very end; none anywhere else. */
    if (end > 0 && s[end - 1] == '=')
        end--;
    if (end > 0 && s[end - 1] == '=')
        end--;
    if (n != end && n % 4 != 0) {
        if (bad)
            *bad = end;
        return -1;
    }
    if (end % 4 == 1) {
        if (bad)
            *bad = end - 1;
        return -1;
    }
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < end; i++) {
        int v = b64_val((unsigned char)s[i]);
        if (v < 0) {
            if (bad)
                *bad = i;
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *outlen = k;
    return 0;
}

void mp_json_quote(const char *s, size_t n, mp_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    char *w = mp_buf_reserve(out, n * 6 + 2);
    if (!w)
        return;
    size_t k = 0;
    w[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            w[k++] = (char)c;
            continue;
        }
        w[k++] = '\\';
        switch (c) {
        case '"': w[k++] = '"'; break;
        case '\\': w[k++] = '\\'; break;
        case '\n': w[k++] = 'n'; break;
        case '\r': w[k++] = 'r'; break;
        case '\t': w[k++] = 't'; break;
        case '\b': w[k++] = 'b'; break;
        case '\f': w[k++] = 'f'; break;
        default:
            w[k++] = 'u';
            w[k++] = '0';
            w[k++] = '0';
            w[k++] = hex[c >> 4];
            w[k++] = hex[c & 15];
            break;
        }
    }
    w[k++] = '"';
    out->len += k;
    out->data[out->len] = '\0';
}

size_t mp_format_int64(int64_t v, char *out)
{
    char tmp[24];
    size_t n = 0, k = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[k++] = '-';
    while (n)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return k;
}

static const double P10[18] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                               1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* The shortest digits of a (> 0) when some m / 10^k with m < 10^15 reads
 * back as a: both m and 10^k are exact, so the division is one correctly
 * rounded step, and 15 digits always name a double uniquely. Returns the
 * digit count (0 if no such m) and the decimal exponent of the first. */
static int short_digits(double a, char *digits, int *x10)
{
    for (int k = 0; k < 18; k++) {
        double m = a * P10[k];
        if (m >= 1e15)
            return 0;
        if (m < 1 || m != floor(m) || m / P10[k] != a)
            continue;
        char tmp[24];
        int n = (int)mp_format_int64((int64_t)m, tmp);
        memcpy(digits, tmp, (size_t)n);
        *x10 = n - 1 - k;
        return n;
    }
    return 0;
}

size_t mp_format_double_java(double v, char *out)
{
    if (isnan(v))
        return (size_t)sprintf(out, "NaN");
    if (isinf(v))
        return (size_t)sprintf(out, v > 0 ? "Infinity" : "-Infinity");
    if (v == 0)
        return (size_t)sprintf(out, signbit(v) ? "-0.0" : "0.0");
    char digits[24];
    int nd = 0, x10 = 0;
    bool neg = v < 0;
    double a = neg ? -v : v;
    if ((nd = short_digits(a, digits, &x10)) > 0) {
        /* found without printf */
    } else {
        char buf[40];
        /* For normal doubles a shorter form, if any, shows up as trailing
         * zeros at 15 digits; subnormals have fewer bits, so search. */
        for (int prec = a < 2.2250738585072014e-308 ? 1 : 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*e", prec - 1, a);
            if (strtod(buf, NULL) == a || prec == 17)
                break;
        }
        for (char *c = buf; *c && *c != 'e'; c++)
            if (*c >= '0' && *c <= '9')
                digits[nd++] = *c;
        x10 = atoi(strchr(buf, 'e') + 1);
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (nd == 1) {
        /* Java considers two-digit decimals too when one digit suffices,
         * and takes the closest to the exact value: 4.9E-324, not 5.0E-324. */
        char one[40], two[40];
        snprintf(one, sizeof one, "%ce%d", digits[0], x10);
        snprintf(two, sizeof two, "%.1e", a);
        if (strtod(two, NULL) == a && two[2] != '0' &&
            fabsl(strtold(two, NULL) - (long double)a) <
                fabsl(strtold(one, NULL) - (long double)a)) {
            digits[0] = two[0];
            digits[1] = two[2];
            nd = 2;
            x10 = atoi(strchr(two, 'e') + 1);
        }
    }
    size_t k = 0;
    if (neg)
        out[k++] = '-';
    if (x10 >= -3 && x10 < 7) {
        if (x10 >= 0) {
            for (int i = 0; i <= x10; i++)
                out[k++] = i < nd ? digits[i] : '0';
            out[k++] = '.';
            if (nd > x10 + 1)
                for (int i = x10 + 1; i < nd; i++)
                    out[k++] = digits[i];
            else
                out[k++] = '0';
        } else {
            out[k++] = '0';
            out[k++] = '.';
            for (int i = 0; i < -x10 - 1; i++)
                out[k++] = '0';
            for (int i = 0; i < nd; i++)
                out[k++] = digits[i];
        }
    } else {
        out[k++] = digits[0];
        out[k++] = '.';
        if (nd > 1)
            for (int i = 1; i < nd; i++)
                out[k++] = digits[i];
        else
            out[k++] = '0';
        k += (size_t)sprintf(out + k, "E%d", x10);
    }
    out[k] = '\0';
    return k;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days). */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

size_t mp_format_timestamp(int64_t ms, char *out)
{
    const int64_t DAY = 86400000;
    int64_t days = ms / DAY, rem = ms % DAY;
    if (rem < 0) {
        rem += DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil(days, &y, &m, &d);
    /* Java's "yyyy" is the year of era: 1 BC prints as 0001, no sign; a '+'
     * appears past four digits. */
    int64_t yoe = y > 0 ? y : 1 - y;
    int n = yoe > 9999 ? sprintf(out, "+%lld", (long long)yoe) : sprintf(out, "%04lld", (long long)yoe);
    n += sprintf(out + n, "-%02d-%02dT%02d:%02d:%02d.%03d", m, d, (int)(rem / 3600000),
                 (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
    return (size_t)n;
}

size_t mp_format_date(int32_t days, char *out)
{
    int64_t y;
    int m, d;
    civil(days, &y, &m, &d);
    int n;
    if (y > 9999)
        n = sprintf(out, "+%lld", (long long)y);
    else if (y < 0)
        n = sprintf(out, "-%04lld", (long long)-y);
    else
        n = sprintf(out, "%04lld", (long long)y);
    n += sprintf(out + n, "-%02d-%02d", m, d);
    return (size_t)n;
}

size_t mp_format_time(int32_t ms, char *out)
{
    int64_t t = ms % 86400000;
    if (t < 0)
        t += 86400000;
    int secs = (int)(t / 1000);
    int h = secs / 3600, mi = secs / 60 % 60, s = secs % 60;
    if (s == 0)
        return (size_t)sprintf(out, "%02d:%02d", h, mi);
    return (size_t)sprintf(out, "%02d:%02d:%02d", h, mi, s);
}
