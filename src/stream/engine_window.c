/* The WINDOW clause of a GROUP BY: sizes, grace period and retention, with
 * the checks and defaults ksqlDB (Kafka Streams) applies. */
#include "stream/engine_internal.h"

/* ksqlDB's grace period when none is given. */
#define DEFAULT_GRACE_MS (24LL * 3600 * 1000)

int mp_splan_window(const mp_sql_query *q, mp_splan *p, mp_error *e)
{
    const mp_sql_window *w = q->window;
    unsigned line = q->pos.line, col = q->pos.col;
    int64_t grace = DEFAULT_GRACE_MS, retention = 0;
    if (mp_sql_duration_ms(w->size, &p->win_size) ||
        (w->kind == MP_SQL_WINDOW_HOPPING && mp_sql_duration_ms(w->advance, &p->win_advance)) ||
        (w->has_grace && mp_sql_duration_ms(w->grace, &grace)) ||
        (w->has_retention && mp_sql_duration_ms(w->retention, &retention)) ||
        p->win_size > INT64_MAX / 4 || grace > INT64_MAX / 4 || retention > INT64_MAX / 4)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: window duration out of range", line, col);
    if (w->kind == MP_SQL_WINDOW_SESSION) {
        if (p->win_size <= 0)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: a SESSION window needs an inactivity gap "
                                "above 0", line, col);
        /* Sessions are no fixed windows: the advance only paces eviction. */
        p->win_advance = p->win_size;
        p->session = 1;
        if (w->has_retention && retention < p->win_size + grace)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: The retention period of the session store "
                                "Aggregate-Aggregate-Materialize must be no smaller than the session "
                                "inactivity gap plus the grace period. Got gap=[%lld], grace=[%lld], "
                                "retention=[%lld]", line, col, (long long)p->win_size,
                                (long long)grace, (long long)retention);
    } else {
        if (w->kind == MP_SQL_WINDOW_TUMBLING)
            p->win_advance = p->win_size;
        if (p->win_size <= 0 || p->win_advance <= 0 || p->win_advance > p->win_size)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: a window needs SIZE > 0 and 0 < ADVANCE BY "
                                "<= SIZE", line, col);
        if (p->win_size / p->win_advance > MP_MAX_WINDOWS)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: a record would fall in more than 1000 "
                                "hopping windows; use a larger ADVANCE BY", line, col);
        if (w->has_retention && retention < p->win_size + grace)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: The retention period of the window store "
                                "Aggregate-Aggregate-Materialize must be no smaller than its window "
                                "size plus the grace period. Got size=[%lld], grace=[%lld], "
                                "retention=[%lld]", line, col, (long long)p->win_size,
                                (long long)grace, (long long)retention);
    }
    p->win_grace = grace;
    /* Kafka Streams keeps a window store's windows for size + grace (a
     * session store's for gap + grace) unless told otherwise. */
    p->win_retention = w->has_retention ? retention : p->win_size + grace;
    p->windowed = 1;
    return 0;
}

int mp_splan_window_late(const mp_splan *p, int64_t start, int64_t end, int64_t stream_time)
{
    if (stream_time == INT64_MIN)
        return 0;
    if (p->session)
        /* Kafka Streams: a merged session ending before stream time minus
         * grace minus gap is dropped. */
        return end < stream_time - p->win_grace - p->win_size;
    (void)end;
    return start + p->win_size + p->win_grace <= stream_time;
}

int mp_splan_window_expired(const mp_splan *p, int64_t start, int64_t end, int64_t stream_time)
{
    if (stream_time == INT64_MIN)
        return 0;
    /* A window store keeps windows by start, a session store by end. */
    return (p->session ? end : start) + p->win_retention <= stream_time;
}
