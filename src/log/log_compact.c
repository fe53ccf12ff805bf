/* Placeholder until the log cleaner is written (see log_compact.h): keeps
 * mp_log_compact linkable and says plainly that it does nothing yet. */
#include "log/log_compact.h"

int mp_log_compact_partition(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                             mp_error *e)
{
    (void)cfg;
    (void)now_ms;
    return mp_error_set(e, MP_EINVAL, "%s: log compaction is not implemented yet", p->name);
}
