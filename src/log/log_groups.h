/* Consumer groups' committed offsets for the embedded log.
 *
 * One small JSON file per group, <data-dir>/groups/<group>.json
 * ({"group": "...", "offsets": {"topic": {"0": 42, ...}}}), replaced whole
 * through mp_write_atomic on every commit: a commit is durable when it
 * returns, and a crash leaves the previous or the new file, never a mix.
 * File names keep [A-Za-z0-9_-] of the group name and write every other
 * byte as %XX; the "group" field inside holds the exact name.
 *
 * Several processes may use one directory at once: the log's writer and
 * its readers (a `consume --group` beside a `produce`). Every change (commit,
 * delete, forgetting a topic) takes an flock on <dir>/.lock, rereads the
 * file(s) it changes and writes them back, so that no process undoes
 * another's commit; every read of a group rereads its file (they are
 * small, and reads happen when a consumer starts, not per record).
 * Thread-safe: one mutex around everything (commits are rare next to
 * reads of records). */
#ifndef MP_LOG_LOG_GROUPS_H
#define MP_LOG_LOG_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "log/log.h"

typedef struct mp_group_store mp_group_store;

/* Opens (creating dir if needed) and loads every group file. A file that
 * does not parse is MP_EFORMAT naming it. With read_only (a reader of the
 * log) nothing is created or cleaned up at open; a missing dir is an empty
 * store, created by the first commit. */
int mp_group_store_open(const char *dir, int read_only, mp_group_store **out, mp_error *e);
void mp_group_store_close(mp_group_store *g);

/* Stores pos[0..n) for group in one write (creating the group). */
int mp_group_store_commit(mp_group_store *g, const char *group, const mp_log_offset *pos,
                          size_t n, mp_error *e);
/* The committed offset or -1. */
int64_t mp_group_store_get(mp_group_store *g, const char *group, const char *topic,
                           int32_t partition);
/* See mp_log_group_offsets. */
int mp_group_store_offsets(mp_group_store *g, const char *group, mp_log_offset **out, size_t *n,
                           mp_error *e);
int mp_group_store_list(mp_group_store *g, char ***names, size_t *n, mp_error *e);
int mp_group_store_delete(mp_group_store *g, const char *group, mp_error *e);
/* Drops a deleted topic's offsets from every group. */
int mp_group_store_forget_topic(mp_group_store *g, const char *topic, mp_error *e);

#endif
