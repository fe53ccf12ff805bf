/* The lambda invocation functions TRANSFORM, FILTER and REDUCE (ksqlDB
 * 0.17+), listed here for SHOW FUNCTIONS and DESCRIBE FUNCTION. Their
 * calls never reach this bind: the expression binder recognises it and
 * compiles the call itself, because typing a lambda needs the other
 * arguments' types before its body can be bound (sql_expr_bind.c). */
#include "sql/fn_builtin.h"

int mp_fn_lambda_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e)
{
    (void)args, (void)lits, (void)n, (void)out;
    return mp_error_set(e, MP_EINVAL, "a lambda invocation function was bound without lambdas");
}

static const mp_fn_doc docs_transform[] = {
    {"(array ARRAY<T>, x => R)", "ARRAY<R>",
     "The array with the lambda applied to each element; NULL for a NULL array."},
    {"(map MAP<K, V>, (k, v) => K2, (k, v) => V2)", "MAP<K2, V2>",
     "The map with the first lambda giving each entry's new key and the second its new value; "
     "NULL for a NULL map. A NULL or repeated new key fails the record."},
};
static const mp_fn_doc docs_filter[] = {
    {"(array ARRAY<T>, x => BOOLEAN)", "ARRAY<T>",
     "The elements for which the lambda is TRUE (NULL drops one), in order; NULL for a NULL "
     "array."},
    {"(map MAP<K, V>, (k, v) => BOOLEAN)", "MAP<K, V>",
     "The entries for which the lambda is TRUE; NULL for a NULL map."},
};
static const mp_fn_doc docs_reduce[] = {
    {"(array ARRAY<T>, start S, (s, x) => S)", "S",
     "The state after the lambda has folded each element into it, starting from start; start "
     "for a NULL array, NULL for a NULL start. The lambda must return start's type."},
    {"(map MAP<K, V>, start S, (s, k, v) => S)", "S",
     "The state after the lambda has folded each entry into it, starting from start; start for "
     "a NULL map, NULL for a NULL start."},
};

const mp_fn_def mp_fn_lambda_defs[] = {
    {"FILTER", MP_FN_SCALAR, "LAMBDA", "Filter a collection with a lambda function.", docs_filter,
     MP_FN_COUNT(docs_filter), NULL, NULL, mp_fn_lambda_bind, NULL, NULL},
    {"REDUCE", MP_FN_SCALAR, "LAMBDA",
     "Reduce a collection to a single value with an initial state and a lambda function.",
     docs_reduce, MP_FN_COUNT(docs_reduce), NULL, NULL, mp_fn_lambda_bind, NULL, NULL},
    {"TRANSFORM", MP_FN_SCALAR, "LAMBDA", "Transform a collection with a lambda function.",
     docs_transform, MP_FN_COUNT(docs_transform), NULL, NULL, mp_fn_lambda_bind, NULL, NULL},
};
const size_t mp_fn_lambda_count = MP_FN_COUNT(mp_fn_lambda_defs);
