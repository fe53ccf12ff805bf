/* For log backends only (callers use log.h): the table of operations behind
 * an mp_log handle. log.c checks the arguments every backend would check
 * (NULL pointers, topic and group names, counts) and then calls these, so a
 * backend sees only well-formed calls. Each operation has the contract of
 * the log.h function of the same name; `impl` is the backend's state. */
#ifndef MP_LOG_LOG_IMPL_H
#define MP_LOG_LOG_IMPL_H

#include "log/log.h"

typedef struct mp_log_ops {
    const char *kind;
    int (*close)(void *impl, mp_error *e);
    int (*topic_create)(void *impl, const char *name, int32_t partitions,
                        const char *const *configs, size_t nconfigs, mp_error *e);
    int (*topic_delete)(void *impl, const char *name, mp_error *e);
    int (*topic_alter)(void *impl, const char *name, const char *const *configs, size_t n,
                       mp_error *e);
    int (*topic_list)(void *impl, char ***names, size_t *n, mp_error *e);
    int (*partition_count)(void *impl, const char *topic, int32_t *n, mp_error *e);
    int (*topic_describe)(void *impl, const char *name, mp_log_topic_info **out, mp_error *e);
    int (*produce)(void *impl, const char *topic, int32_t partition, const mp_record *recs,
                   size_t n, mp_log_produced *out, mp_error *e);
    int (*fetch)(void *impl, const char *topic, int32_t partition, int64_t offset,
                 size_t max_bytes, mp_log_fetch_result *out, mp_error *e);
    int (*offsets)(void *impl, const char *topic, int32_t partition, int64_t *earliest,
                   int64_t *latest, mp_error *e);
    int (*offset_for_time)(void *impl, const char *topic, int32_t partition, int64_t ts,
                           int64_t *offset, int64_t *record_ts, mp_error *e);
    int (*wait)(void *impl, const mp_log_offset *pos, size_t n, int64_t timeout_ms, mp_error *e);
    void (*wake)(void *impl);
    int (*commit)(void *impl, const char *group, const mp_log_offset *pos, size_t n, mp_error *e);
    int (*committed)(void *impl, const char *group, const char *topic, int32_t partition,
                     int64_t *offset, mp_error *e);
    int (*group_offsets)(void *impl, const char *group, mp_log_offset **out, size_t *n,
                         mp_error *e);
    int (*group_list)(void *impl, char ***names, size_t *n, mp_error *e);
    int (*group_delete)(void *impl, const char *group, mp_error *e);
    int (*flush)(void *impl, const char *topic, mp_error *e);
    int (*enforce_retention)(void *impl, const char *topic, int64_t *deleted, mp_error *e);
    int (*compact)(void *impl, const char *topic, mp_error *e);
    int (*maintain)(void *impl, mp_error *e);
    /* 1 for a handle that can only read (NULL: never). */
    int (*read_only)(void *impl);
} mp_log_ops;

/* Wraps a backend's state in a handle (NULL when out of memory; the caller
 * then closes impl itself). */
mp_log *mp_log_wrap(const mp_log_ops *ops, void *impl);

/* 1 if name is a valid topic name (Kafka's rules), 0 otherwise. */
int mp_log_valid_topic_name(const char *name);

#endif
