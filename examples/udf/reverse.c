/* An mlpipe extension: the talk's REVERSE as a user-defined function, plus
 * a variadic one and an aggregate to show the rest of the API.
 *
 *   REVERSE(str STRING)            the characters in reverse order (UTF-8
 *                                  aware: 'añb' gives 'bña', not broken bytes)
 *   REVERSE(list ARRAY<STRING>)    the elements in reverse order
 *   MEDIAN_OF(x DOUBLE...)         the median of the arguments that are not
 *                                  NULL (any numbers: INT and BIGINT widen)
 *   LONGEST(str STRING)            aggregate: the longest string seen
 *
 * Build (CMake does it: build/ext/reverse.so):
 *   cc -shared -fPIC -I include examples/udf/reverse.c -o ext/reverse.so
 * Use:
 *   mlpipe sql --ext-dir ext -e "SELECT REVERSE(userid) FROM pageviews EMIT CHANGES;"
 *
 * The file includes only mlpipe_udf.h: extensions need nothing from
 * mlpipe at link time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlpipe_udf.h"

MP_UDF_MODULE;

#define AUTHOR "mlpipe examples"
#define VERSION "1.0.0"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* REVERSE(STRING): code points copied back to front. mlpipe's strings are
 * valid UTF-8, but a byte that is not part of a character becomes U+FFFD
 * rather than half a character. */
static int reverse_string(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    (void)user;
    size_t n;
    const unsigned char *s = (const unsigned char *)mp_udf_arg_string(args, 0, &n);
    char small[256];
    char *out = n * 3 <= sizeof small ? small : malloc(n * 3); /* U+FFFD is 3 bytes */
    if (!out)
        return mp_udf_error(ctx, "out of memory");
    size_t w = 0;
    for (size_t i = n; i > 0;) {
        /* find the start of the character ending at i - 1 */
        size_t start = i - 1, k = 0;
        while (start > 0 && (s[start] & 0xC0) == 0x80 && i - start < 4)
            start--;
        k = utf8_len(s + start, i - start);
        if (k == i - start) {
            memcpy(out + w, s + start, k);
            w += k;
            i = start;
        } else {
            memcpy(out + w, "\xEF\xBF\xBD", 3);
            w += 3;
            i--;
        }
    }
    int rc = mp_udf_result_string(ctx, out, w);
    if (out != small)
        free(out);
    return rc;
}

/* REVERSE(ARRAY<STRING>): the elements back to front (NULL elements stay). */
static int reverse_array(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    (void)user;
    const mp_udf_value *list = mp_udf_arg(args, 0);
    size_t n = mp_udf_value_len(ctx, list);
    mp_udf_slot *res = mp_udf_result(ctx);
    int rc = mp_udf_set_array(ctx, res, n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = mp_udf_set_value(ctx, mp_udf_slot_item(ctx, res, i),
                              mp_udf_value_item(ctx, list, n - 1 - i));
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* MEDIAN_OF(x DOUBLE...): called with NULL arguments too (it skips them). */
static int median_of(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    (void)user;
    size_t n = mp_udf_arg_count(args), m = 0;
    double small[32], *x = n <= 32 ? small : malloc(n * sizeof *x);
    if (!x)
        return mp_udf_error(ctx, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (mp_udf_arg_is_null(args, i))
            continue;
        x[m] = mp_udf_arg_double(args, i);
        if (isnan(x[m]))
            rc = mp_udf_error(ctx, "NaN has no place in an order, so no median");
        m++;
    }
    if (!rc && m == 0)
        rc = mp_udf_result_null(ctx);
    else if (!rc) {
        qsort(x, m, sizeof *x, cmp_double);
        rc = mp_udf_result_double(ctx, m % 2 ? x[m / 2] : (x[m / 2 - 1] + x[m / 2]) / 2);
    }
    if (x != small)
        free(x);
    return rc;
}

/* Characters (code points) in a UTF-8 string. */
static size_t chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* LONGEST: the state is the longest string so far (NULL before the first);
 * on a tie the earlier one stays. Rows with a NULL string are skipped by
 * mlpipe (no MP_UDF_CALLED_ON_NULL_INPUT). No result function: the state
 * is the result. */
static int longest_add(mp_udf_ctx *ctx, const mp_udf_value *state, const mp_udf_args *args,
                       void *user)
{
    (void)user;
    size_t n, have;
    const char *s = mp_udf_arg_string(args, 0, &n);
    const char *best = mp_udf_value_string(ctx, state, &have);
    if (!best || chars(s, n) > chars(best, have))
        return mp_udf_result_string(ctx, s, n);
    return 0; /* the output starts as the old state */
}

MP_UDF_EXPORT int mlpipe_udf_init(mp_udf_registrar *r)
{
    static const char *const str[] = {"STRING"}, *const str_name[] = {"str"};
    static const char *const arr[] = {"ARRAY<STRING>"}, *const arr_name[] = {"list"};
    static const char *const dbl[] = {"DOUBLE"}, *const dbl_name[] = {"x"};
    mp_udf_scalar rev = {
        .name = "REVERSE",
        .description = "Reverses a string, character by character.",
        .author = AUTHOR,
        .version = VERSION,
        .category = "STRING",
        .returns = "STRING",
        .params = str,
        .param_names = str_name,
        .nparams = 1,
        .fn = reverse_string,
    };
    mp_udf_scalar rev_array = rev;
    rev_array.description = "Reverses the order of an array's elements.";
    rev_array.returns = "ARRAY<STRING>";
    rev_array.params = arr;
    rev_array.param_names = arr_name;
    rev_array.fn = reverse_array;
    mp_udf_scalar median = {
        .name = "MEDIAN_OF",
        .description = "The median of the arguments that are not NULL.",
        .author = AUTHOR,
        .version = VERSION,
        .category = "MATH",
        .returns = "DOUBLE",
        .params = dbl,
        .param_names = dbl_name,
        .nparams = 1,
        .flags = MP_UDF_VARIADIC | MP_UDF_CALLED_ON_NULL_INPUT,
        .fn = median_of,
    };
    mp_udf_aggregate longest = {
        .name = "LONGEST",
        .description = "The longest string in a group (the first of equally long ones).",
        .author = AUTHOR,
        .version = VERSION,
        .returns = "STRING",
        .state = "STRING",
        .params = str,
        .param_names = str_name,
        .nparams = 1,
        .add = longest_add,
    };
    int rc = mp_udf_register_scalar(r, &rev);
    if (!rc)
        rc = mp_udf_register_scalar(r, &rev_array);
    if (!rc)
        rc = mp_udf_register_scalar(r, &median);
    if (!rc)
        rc = mp_udf_register_aggregate(r, &longest);
    return rc;
}
