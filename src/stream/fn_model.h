/* Models as SQL functions (PREDICT, PREDICT_PROBA, ANOMALY); see
 * fn_model.c for their semantics. */
#ifndef MP_STREAM_FN_MODEL_H
#define MP_STREAM_FN_MODEL_H

#include "core/error.h"
#include "sql/sql_func.h"

/* Adds the model functions to a registry. */
int mp_model_fns_register(mp_fn_registry *r, mp_error *e);

/* The registry directory model names resolve in while statements are
 * bound on the calling thread (NULL: none). The engine sets it around
 * each statement; binding happens on the thread that runs the statement. */
void mp_model_fns_bind_scope(const char *registry_dir);

#endif
