/* An mlpipe extension with a table function (ksqlDB's UDTF): one row in,
 * zero or more rows out, used in a select list as EXPLODE is.
 *
 *   TOKENS(text STRING)             the words of text (split on spaces and
 *                                   tabs), one output row each
 *   TOKENS(text STRING, sep STRING) the pieces between occurrences of sep
 *                                   (empty pieces kept, as SPLIT does)
 *
 * Build (CMake does it: build/ext/tokens.so):
 *   cc -shared -fPIC -I include examples/udf/tokens.c -o ext/tokens.so
 * Use:
 *   mlpipe sql --ext-dir ext -e "SELECT id, TOKENS(title) AS word FROM books EMIT CHANGES;"
 *
 * A NULL argument gives no rows (the function is not called), and so does
 * an empty text. */
#include <string.h>

#include "mlpipe_udf.h"

MP_UDF_MODULE;

/* The pieces of s[0..n) cut at sep (NULL: runs of blanks), written as the
 * result's array: counted first, then filled. */
static int emit_pieces(mp_udf_ctx *ctx, const char *s, size_t n, const char *sep, size_t seplen)
{
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        mp_udf_slot *out = mp_udf_result(ctx);
        if (pass == 1) {
            int rc = mp_udf_set_array(ctx, out, count);
            if (rc)
                return rc;
        }
        size_t k = 0, i = 0;
        while (i <= n) {
            size_t start = i, end;
            if (!sep) {
                while (start < n && (s[start] == ' ' || s[start] == '\t'))
                    start++;
                if (start == n)
                    break;
                end = start;
                while (end < n && s[end] != ' ' && s[end] != '\t')
                    end++;
                i = end;
            } else {
                const char *hit = NULL;
                for (size_t j = start; seplen && j + seplen <= n; j++)
                    if (!memcmp(s + j, sep, seplen)) {
                        hit = s + j;
                        break;
                    }
                end = hit ? (size_t)(hit - s) : n;
                i = hit ? end + seplen : n + 1;
            }
            if (pass == 1) {
                int rc = mp_udf_set_string(ctx, mp_udf_slot_item(ctx, out, k), s + start,
                                           end - start);
                if (rc)
                    return rc;
            }
            k++;
        }
        count = k;
    }
    return 0;
}

static int tokens(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    (void)user;
    size_t n, seplen = 0;
    const char *s = mp_udf_arg_string(args, 0, &n), *sep = NULL;
    if (mp_udf_arg_count(args) > 1) {
        sep = mp_udf_arg_string(args, 1, &seplen);
        if (!seplen)
            return mp_udf_error(ctx, "the separator is empty");
    }
    if (!n)
        return 0; /* nothing written: no rows */
    return emit_pieces(ctx, s, n, sep, seplen);
}

MP_UDF_EXPORT int mlpipe_udf_init(mp_udf_registrar *r)
{
    static const char *const p1[] = {"STRING"}, *const n1[] = {"text"};
    static const char *const p2[] = {"STRING", "STRING"}, *const n2[] = {"text", "sep"};
    mp_udf_table t = {.name = "TOKENS",
                      .description = "One row for each word of a text.",
                      .author = "mlpipe examples",
                      .version = "1.0.0",
                      .category = "STRING",
                      .returns = "STRING",
                      .params = p1,
                      .param_names = n1,
                      .nparams = 1,
                      .fn = tokens};
    int rc = mp_udf_register_table(r, &t);
    if (rc)
        return rc;
    t.description = "One row for each piece of a text between separators.";
    t.params = p2;
    t.param_names = n2;
    t.nparams = 2;
    return mp_udf_register_table(r, &t);
}
