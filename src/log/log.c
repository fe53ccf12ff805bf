/* The log interface: argument checks common to every backend, then a call
 * through the backend's table. */
#include "log/log.h"

#include <stdlib.h>
#include <string.h>

#include "log/log_impl.h"

struct mp_log {
    const mp_log_ops *ops;
    void *impl;
};

mp_log *mp_log_wrap(const mp_log_ops *ops, void *impl)
{
    mp_log *log = malloc(sizeof *log);
    if (!log)
        return NULL;
    log->ops = ops;
    log->impl = impl;
    return log;
}

int mp_log_valid_topic_name(const char *name)
{
    if (!name)
        return 0;
    size_t n = strlen(name);
    if (n == 0 || n > 249 || !strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

#define NEED_LOG(log, e)                                                                   \
    do {                                                                                   \
        if (!(log))                                                                        \
            return mp_error_set(e, MP_EINVAL, "log: no log handle");                      \
    } while (0)

#define NEED_TOPIC(topic, e)                                                               \
    do {                                                                                   \
        if (!(topic))                                                                      \
            return mp_error_set(e, MP_EINVAL, "log: no topic name");                      \
    } while (0)

static int check_group(const char *group, mp_error *e)
{
    if (!group || !group[0])
        return mp_error_set(e, MP_EINVAL, "log: empty consumer group name");
    if (strlen(group) > 255)
        return mp_error_set(e, MP_EINVAL, "log: consumer group name longer than 255 bytes");
    return 0;
}

int mp_log_close(mp_log *log, mp_error *e)
{
    if (!log)
        return 0;
    int rc = log->ops->close(log->impl, e);
    free(log);
    return rc;
}

const char *mp_log_kind(const mp_log *log) { return log ? log->ops->kind : "none"; }

int mp_log_is_read_only(const mp_log *log)
{
    return log && log->ops->read_only ? log->ops->read_only(log->impl) : 0;
}

int mp_log_topic_create(mp_log *log, const char *name, int32_t partitions,
                        const char *const *configs, size_t nconfigs, mp_error *e)
{
    NEED_LOG(log, e);
    if (!mp_log_valid_topic_name(name))
        return mp_error_set(e, MP_EINVAL,
                            "invalid topic name '%s': use 1 to 249 characters of "
                            "[A-Za-z0-9._-], not '.' or '..'",
                            name ? name : "(null)");
    if (partitions < 0 || partitions > MP_LOG_MAX_PARTITIONS)
        return mp_error_set(e, MP_EINVAL, "topic %s: partitions must be in 1..%d, got %d", name,
                            MP_LOG_MAX_PARTITIONS, (int)partitions);
    if (nconfigs && !configs)
        return mp_error_set(e, MP_EINVAL, "topic %s: no config strings", name);
    return log->ops->topic_create(log->impl, name, partitions, configs, nconfigs, e);
}

int mp_log_topic_delete(mp_log *log, const char *name, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(name, e);
    return log->ops->topic_delete(log->impl, name, e);
}

int mp_log_topic_alter(mp_log *log, const char *name, const char *const *configs,
                       size_t nconfigs, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(name, e);
    if (nconfigs && !configs)
        return mp_error_set(e, MP_EINVAL, "topic %s: no config strings", name);
    return log->ops->topic_alter(log->impl, name, configs, nconfigs, e);
}

int mp_log_topic_list(mp_log *log, char ***names, size_t *n, mp_error *e)
{
    NEED_LOG(log, e);
    if (!names || !n)
        return mp_error_set(e, MP_EINVAL, "log: topic list needs output pointers");
    *names = NULL;
    *n = 0;
    return log->ops->topic_list(log->impl, names, n, e);
}

void mp_log_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int mp_log_partition_count(mp_log *log, const char *topic, int32_t *n, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    if (!n)
        return mp_error_set(e, MP_EINVAL, "log: partition count needs an output pointer");
    return log->ops->partition_count(log->impl, topic, n, e);
}

int mp_log_topic_describe(mp_log *log, const char *name, mp_log_topic_info **out, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(name, e);
    if (!out)
        return mp_error_set(e, MP_EINVAL, "log: describe needs an output pointer");
    *out = NULL;
    return log->ops->topic_describe(log->impl, name, out, e);
}

void mp_log_topic_info_free(mp_log_topic_info *info)
{
    if (!info)
        return;
    free(info->name);
    free(info->parts);
    free(info);
}

/* Lengths and pointers that agree, before any backend hashes a key. */
static int check_records(const char *topic, const mp_record *recs, size_t n, mp_error *e)
{
    for (size_t i = 0; i < n; i++) {
        const mp_record *r = &recs[i];
        int bad = r->key_len < -1 || r->value_len < -1 || (r->key_len > 0 && !r->key) ||
                  (r->value_len > 0 && !r->value) || (r->nheaders && !r->headers);
        for (size_t h = 0; !bad && h < r->nheaders; h++)
            bad = (r->headers[h].key_len && !r->headers[h].key) || r->headers[h].value_len < -1 ||
                  (r->headers[h].value_len > 0 && !r->headers[h].value);
        if (bad)
            return mp_error_set(e, MP_EINVAL,
                                "topic %s: record %zu has a length without data or below -1",
                                topic, i);
    }
    return 0;
}

static int check_partition_arg(const char *topic, int32_t partition, mp_error *e)
{
    if (partition < MP_LOG_ANY_PARTITION)
        return mp_error_set(e, MP_EINVAL, "topic %s: invalid partition %d", topic, (int)partition);
    return 0;
}

int mp_log_produce(mp_log *log, const char *topic, int32_t partition, const mp_record *rec,
                   int32_t *out_partition, int64_t *out_offset, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    if (!rec)
        return mp_error_set(e, MP_EINVAL, "topic %s: no record to produce", topic);
    int rc = check_partition_arg(topic, partition, e);
    if (!rc)
        rc = check_records(topic, rec, 1, e);
    if (rc)
        return rc;
    mp_log_produced where = {-1, -1};
    rc = log->ops->produce(log->impl, topic, partition, rec, 1, &where, e);
    if (out_partition)
        *out_partition = where.partition;
    if (out_offset)
        *out_offset = where.offset;
    return rc;
}

int mp_log_produce_batch(mp_log *log, const char *topic, int32_t partition, const mp_record *recs,
                         size_t n, mp_log_produced *out, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    if (n == 0)
        return 0;
    if (!recs)
        return mp_error_set(e, MP_EINVAL, "topic %s: no records to produce", topic);
    int rc = check_partition_arg(topic, partition, e);
    if (!rc)
        rc = check_records(topic, recs, n, e);
    if (rc)
        return rc;
    if (out)
        for (size_t i = 0; i < n; i++)
            out[i] = (mp_log_produced){-1, -1};
    return log->ops->produce(log->impl, topic, partition, recs, n, out, e);
}

int mp_log_fetch(mp_log *log, const char *topic, int32_t partition, int64_t offset,
                 size_t max_bytes, mp_log_fetch_result *out, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    if (!out)
        return mp_error_set(e, MP_EINVAL, "log: fetch needs a result struct");
    out->recs = NULL;
    out->n = 0;
    out->next_offset = offset;
    out->bytes = 0;
    if (partition < 0)
        return mp_error_set(e, MP_EINVAL, "topic %s: invalid partition %d", topic, (int)partition);
    return log->ops->fetch(log->impl, topic, partition, offset, max_bytes, out, e);
}

void mp_log_fetch_result_free(mp_log_fetch_result *r)
{
    if (!r)
        return;
    if (r->priv && r->priv_free)
        r->priv_free(r->priv);
    memset(r, 0, sizeof *r);
}

int mp_log_offsets(mp_log *log, const char *topic, int32_t partition, int64_t *earliest,
                   int64_t *latest, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    if (partition < 0)
        return mp_error_set(e, MP_EINVAL, "topic %s: invalid partition %d", topic, (int)partition);
    int64_t a, b;
    int rc = log->ops->offsets(log->impl, topic, partition, &a, &b, e);
    if (rc)
        return rc;
    if (earliest)
        *earliest = a;
    if (latest)
        *latest = b;
    return 0;
}

int mp_log_offset_for_time(mp_log *log, const char *topic, int32_t partition, int64_t ts,
                           int64_t *offset, int64_t *record_ts, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    if (!offset)
        return mp_error_set(e, MP_EINVAL, "log: offset lookup needs an output pointer");
    if (partition < 0)
        return mp_error_set(e, MP_EINVAL, "topic %s: invalid partition %d", topic, (int)partition);
    int64_t rts = -1;
    *offset = -1;
    int rc = log->ops->offset_for_time(log->impl, topic, partition, ts, offset, &rts, e);
    if (record_ts)
        *record_ts = rts;
    return rc;
}

int mp_log_wait(mp_log *log, const mp_log_offset *pos, size_t n, int64_t timeout_ms, mp_error *e)
{
    NEED_LOG(log, e);
    if (n && !pos)
        return mp_error_set(e, MP_EINVAL, "log: wait needs positions");
    for (size_t i = 0; i < n; i++) {
        NEED_TOPIC(pos[i].topic, e);
        if (pos[i].partition < 0)
            return mp_error_set(e, MP_EINVAL, "topic %s: invalid partition %d", pos[i].topic,
                                (int)pos[i].partition);
    }
    return log->ops->wait(log->impl, pos, n, timeout_ms, e);
}

void mp_log_wake(mp_log *log)
{
    if (log)
        log->ops->wake(log->impl);
}

int mp_log_commit(mp_log *log, const char *group, const mp_log_offset *pos, size_t n,
                  mp_error *e)
{
    NEED_LOG(log, e);
    int rc = check_group(group, e);
    if (rc)
        return rc;
    if (n && !pos)
        return mp_error_set(e, MP_EINVAL, "group %s: no offsets to commit", group);
    for (size_t i = 0; i < n; i++) {
        NEED_TOPIC(pos[i].topic, e);
        if (pos[i].partition < 0 || pos[i].offset < 0)
            return mp_error_set(e, MP_EINVAL, "group %s: cannot commit %s-%d@%lld", group,
                                pos[i].topic, (int)pos[i].partition, (long long)pos[i].offset);
    }
    return log->ops->commit(log->impl, group, pos, n, e);
}

int mp_log_committed(mp_log *log, const char *group, const char *topic, int32_t partition,
                     int64_t *offset, mp_error *e)
{
    NEED_LOG(log, e);
    int rc = check_group(group, e);
    if (rc)
        return rc;
    NEED_TOPIC(topic, e);
    if (!offset)
        return mp_error_set(e, MP_EINVAL, "log: committed offset needs an output pointer");
    *offset = -1;
    if (partition < 0)
        return mp_error_set(e, MP_EINVAL, "topic %s: invalid partition %d", topic, (int)partition);
    return log->ops->committed(log->impl, group, topic, partition, offset, e);
}

int mp_log_group_offsets(mp_log *log, const char *group, mp_log_offset **out, size_t *n,
                         mp_error *e)
{
    NEED_LOG(log, e);
    int rc = check_group(group, e);
    if (rc)
        return rc;
    if (!out || !n)
        return mp_error_set(e, MP_EINVAL, "log: group offsets need output pointers");
    *out = NULL;
    *n = 0;
    return log->ops->group_offsets(log->impl, group, out, n, e);
}

void mp_log_offsets_free(mp_log_offset *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)list[i].topic);
    free(list);
}

int mp_log_group_list(mp_log *log, char ***names, size_t *n, mp_error *e)
{
    NEED_LOG(log, e);
    if (!names || !n)
        return mp_error_set(e, MP_EINVAL, "log: group list needs output pointers");
    *names = NULL;
    *n = 0;
    return log->ops->group_list(log->impl, names, n, e);
}

int mp_log_group_delete(mp_log *log, const char *group, mp_error *e)
{
    NEED_LOG(log, e);
    int rc = check_group(group, e);
    if (rc)
        return rc;
    return log->ops->group_delete(log->impl, group, e);
}

int mp_log_flush(mp_log *log, const char *topic, mp_error *e)
{
    NEED_LOG(log, e);
    return log->ops->flush(log->impl, topic, e);
}

int mp_log_enforce_retention(mp_log *log, const char *topic, int64_t *deleted, mp_error *e)
{
    NEED_LOG(log, e);
    int64_t d = 0;
    int rc = log->ops->enforce_retention(log->impl, topic, &d, e);
    if (deleted)
        *deleted = d;
    return rc;
}

int mp_log_compact(mp_log *log, const char *topic, mp_error *e)
{
    NEED_LOG(log, e);
    NEED_TOPIC(topic, e);
    return log->ops->compact(log->impl, topic, e);
}

int mp_log_maintain(mp_log *log, mp_error *e)
{
    NEED_LOG(log, e);
    return log->ops->maintain(log->impl, e);
}
