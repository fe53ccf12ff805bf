/* Date and time built-ins. TIMESTAMP is milliseconds since the epoch (no
 * zone), DATE days since 1970-01-01, TIME milliseconds of the day.
 *
 * Formats are java.time patterns (fn_dtformat.c); zones are java.time
 * zone ids (fn_tz.c). Where ksqlDB uses "the server's default time zone"
 * (TIMESTAMPTOSTRING and STRINGTOTIMESTAMP without a zone, UNIX_DATE) we
 * use UTC, so every instance of the engine agrees.
 *
 * Time units (DATEADD(unit, n, d) and friends) arrive as a STRING
 * argument naming the unit: the binder passes ksqlDB's bare unit keyword
 * (DAYS, HOURS...) as that string literal. */
#include <string.h>

#include "core/clock.h"
#include "sql/fn_builtin.h"

#define MS_PER_DAY 86400000LL
#define NS_PER_DAY 86400000000000LL

static int get_zone(mp_fn_ctx *cx, const char *name, const mp_value *v, mp_fn_tz *z)
{
    if (!v) {
        mp_fn_tz_get("UTC", 3, z, NULL);
        return 0;
    }
    int rc = mp_fn_tz_get(v->u.str, v->len, z, cx->e);
    if (rc && cx->e)
        mp_error_prefix(cx->e, "%s", name);
    return rc;
}

/* A timestamp (ms) seen in zone z, for formatting. */
static void dt_from_ms(int64_t ms, const mp_fn_tz *z, mp_fn_dt *dt)
{
    int64_t sec = mp_fn_floor_div(ms, 1000);
    int32_t off = mp_fn_tz_offset_at(z, sec);
    int64_t local = sec + off;
    int64_t days = mp_fn_floor_div(local, 86400), sod = mp_fn_floor_mod(local, 86400);
    memset(dt, 0, sizeof *dt);
    mp_fn_civil_from_days(days, &dt->year, &dt->month, &dt->day);
    dt->hour = (int)(sod / 3600);
    dt->minute = (int)(sod / 60 % 60);
    dt->second = (int)(sod % 60);
    dt->nano = (int)mp_fn_floor_mod(ms, 1000) * 1000000;
    dt->offset = off;
    dt->zone = z;
    dt->instant = sec;
    dt->have = MP_FN_DT_DATE | MP_FN_DT_TIME | MP_FN_DT_ZONE;
}

static int format_to(mp_fn_ctx *cx, const char *name, const mp_value *fmt, const mp_fn_dt *dt,
                     mp_value *out)
{
    mp_buf b = {0};
    int rc = mp_fn_dt_format(fmt->u.str, fmt->len, dt, &b, cx->e);
    if (rc) {
        mp_buf_free(&b);
        if (cx->e)
            mp_error_prefix(cx->e, "%s: failed to format with '%.*s'", name, (int)fmt->len,
                            fmt->u.str);
        return rc;
    }
    return mp_fn_ret_buf(cx, &b, out);
}

/* ---- TIMESTAMPTOSTRING, FORMAT_TIMESTAMP ---- */

static int format_ms(mp_fn_ctx *cx, const char *name, int64_t ms, const mp_value *a, size_t n,
                     mp_value *out)
{
    mp_fn_tz z;
    int rc = get_zone(cx, name, n > 2 ? &a[2] : NULL, &z);
    if (rc)
        return rc;
    mp_fn_dt dt;
    dt_from_ms(ms, &z, &dt);
    return format_to(cx, name, &a[1], &dt, out);
}

static int timestamptostring_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                const void *d)
{
    return format_ms(cx, "TIMESTAMPTOSTRING", mp_fn_num_int64(&a[0]), a, n, out);
}
static const mp_fn_sig sigs_timestamptostring[] = {
    {"ls", "s", timestamptostring_fn, false},
    {"lss", "s", timestamptostring_fn, false},
};
MP_FN_SIG_BIND(timestamptostring, "TIMESTAMPTOSTRING")

static int format_timestamp_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                               const void *d)
{
    return format_ms(cx, "FORMAT_TIMESTAMP", a[0].u.i64, a, n, out);
}
static const mp_fn_sig sigs_format_timestamp[] = {
    {"ts", "s", format_timestamp_fn, false},
    {"tss", "s", format_timestamp_fn, false},
};
MP_FN_SIG_BIND(format_timestamp, "FORMAT_TIMESTAMP")

/* ---- STRINGTOTIMESTAMP, PARSE_TIMESTAMP ---- */

static int parse_ms(mp_fn_ctx *cx, const char *name, const mp_value *a, size_t n, int64_t *ms)
{
    mp_fn_tz z;
    int rc = get_zone(cx, name, n > 2 ? &a[2] : NULL, &z);
    if (rc)
        return rc;
    mp_fn_dt_parsed p;
    int64_t days, nanos;
    rc = mp_fn_dt_parse(a[1].u.str, a[1].len, a[0].u.str, a[0].len, false, &p, cx->e);
    if (!rc)
        rc = mp_fn_dt_parsed_date(&p, false, &days, cx->e);
    if (!rc)
        rc = mp_fn_dt_parsed_time(&p, false, &nanos, cx->e);
    if (rc) {
        if (cx->e)
            mp_error_prefix(cx->e, "%s: failed to parse '%.*s' with '%.*s'", name, (int)a[0].len,
                            a[0].u.str, (int)a[1].len, a[1].u.str);
        return rc;
    }
    int64_t local = days * 86400 + nanos / 1000000000;
    int32_t off = p.has_offset ? p.offset
                  : p.has_zone ? mp_fn_tz_offset_local(&p.zone, local)
                               : mp_fn_tz_offset_local(&z, local);
    *ms = (local - off) * 1000 + nanos % 1000000000 / 1000000;
    return 0;
}

static int stringtotimestamp_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                const void *d)
{
    int64_t ms;
    int rc = parse_ms(cx, "STRINGTOTIMESTAMP", a, n, &ms);
    if (!rc)
        *out = mp_v_bigint(ms);
    return rc;
}
static const mp_fn_sig sigs_stringtotimestamp[] = {
    {"ss", "l", stringtotimestamp_fn, false},
    {"sss", "l", stringtotimestamp_fn, false},
};
MP_FN_SIG_BIND(stringtotimestamp, "STRINGTOTIMESTAMP")

static int parse_timestamp_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                              const void *d)
{
    int64_t ms;
    int rc = parse_ms(cx, "PARSE_TIMESTAMP", a, n, &ms);
    if (!rc)
        *out = mp_v_timestamp(ms);
    return rc;
}
static const mp_fn_sig sigs_parse_timestamp[] = {
    {"ss", "t", parse_timestamp_fn, false},
    {"sss", "t", parse_timestamp_fn, false},
};
MP_FN_SIG_BIND(parse_timestamp, "PARSE_TIMESTAMP")

/* ---- dates ---- */

static int format_days(mp_fn_ctx *cx, const char *name, int64_t days, const mp_value *fmt,
                       mp_value *out)
{
    mp_fn_dt dt;
    memset(&dt, 0, sizeof dt);
    mp_fn_civil_from_days(days, &dt.year, &dt.month, &dt.day);
    dt.have = MP_FN_DT_DATE;
    return format_to(cx, name, fmt, &dt, out);
}

static int format_date_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return format_days(cx, "FORMAT_DATE", a[0].u.i32, &a[1], out);
}
static const mp_fn_sig sigs_format_date[] = {{"as", "s", format_date_fn, false}};
MP_FN_SIG_BIND(format_date, "FORMAT_DATE")

static int datetostring_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return format_days(cx, "DATETOSTRING", a[0].u.i32, &a[1], out);
}
static const mp_fn_sig sigs_datetostring[] = {{"is", "s", datetostring_fn, false}};
MP_FN_SIG_BIND(datetostring, "DATETOSTRING")

static int parse_days(mp_fn_ctx *cx, const char *name, const mp_value *a, int64_t *days)
{
    mp_fn_dt_parsed p;
    int rc = mp_fn_dt_parse(a[1].u.str, a[1].len, a[0].u.str, a[0].len, true, &p, cx->e);
    if (!rc && mp_fn_dt_has_time(&p))
        rc = mp_error_set(cx->e, MP_EINPUT, "Date format contains time field.");
    if (!rc)
        rc = mp_fn_dt_parsed_date(&p, true, days, cx->e);
    if (!rc && (*days < INT32_MIN || *days > INT32_MAX))
        rc = mp_error_set(cx->e, MP_EINPUT, "date out of range");
    if (rc && cx->e)
        mp_error_prefix(cx->e, "%s: failed to parse date '%.*s' with '%.*s'", name, (int)a[0].len,
                        a[0].u.str, (int)a[1].len, a[1].u.str);
    return rc;
}

static int parse_date_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    int64_t days;
    int rc = parse_days(cx, "PARSE_DATE", a, &days);
    if (!rc)
        *out = mp_v_date((int32_t)days);
    return rc;
}
static const mp_fn_sig sigs_parse_date[] = {{"ss", "a", parse_date_fn, false}};
MP_FN_SIG_BIND(parse_date, "PARSE_DATE")

static int stringtodate_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    int64_t days;
    int rc = parse_days(cx, "STRINGTODATE", a, &days);
    if (!rc)
        *out = mp_v_int((int32_t)days);
    return rc;
}
static const mp_fn_sig sigs_stringtodate[] = {{"ss", "i", stringtodate_fn, false}};
MP_FN_SIG_BIND(stringtodate, "STRINGTODATE")

/* ---- times ---- */

static int format_time_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    int64_t ms = mp_fn_floor_mod(a[0].u.i32, MS_PER_DAY);
    mp_fn_dt dt;
    memset(&dt, 0, sizeof dt);
    dt.hour = (int)(ms / 3600000);
    dt.minute = (int)(ms / 60000 % 60);
    dt.second = (int)(ms / 1000 % 60);
    dt.nano = (int)(ms % 1000) * 1000000;
    dt.have = MP_FN_DT_TIME;
    return format_to(cx, "FORMAT_TIME", &a[1], &dt, out);
}
static const mp_fn_sig sigs_format_time[] = {{"ms", "s", format_time_fn, false}};
MP_FN_SIG_BIND(format_time, "FORMAT_TIME")

static const char *date_field_name(const mp_fn_dt_parsed *p)
{
    if (p->has[MP_FN_F_YEAR])
        return "Year";
    if (p->has[MP_FN_F_YOE])
        return "YearOfEra";
    if (p->has[MP_FN_F_MONTH])
        return "MonthOfYear";
    if (p->has[MP_FN_F_DAY])
        return "DayOfMonth";
    if (p->has[MP_FN_F_DOY])
        return "DayOfYear";
    if (p->has[MP_FN_F_DOW])
        return "DayOfWeek";
    return "Era";
}

static int parse_time_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    mp_fn_dt_parsed p;
    int64_t nanos = 0;
    int rc = mp_fn_dt_parse(a[1].u.str, a[1].len, a[0].u.str, a[0].len, false, &p, cx->e);
    if (!rc && mp_fn_dt_has_date(&p))
        rc = mp_error_set(cx->e, MP_EINPUT, "Unsupported field: %s", date_field_name(&p));
    if (!rc)
        rc = mp_fn_dt_parsed_time(&p, true, &nanos, cx->e);
    if (rc) {
        if (cx->e)
            mp_error_prefix(cx->e, "PARSE_TIME: failed to parse time '%.*s' with '%.*s'",
                            (int)a[0].len, a[0].u.str, (int)a[1].len, a[1].u.str);
        return rc;
    }
    *out = mp_v_time((int32_t)(nanos / 1000000));
    return 0;
}
static const mp_fn_sig sigs_parse_time[] = {{"ss", "m", parse_time_fn, false}};
MP_FN_SIG_BIND(parse_time, "PARSE_TIME")

/* ---- UNIX_TIMESTAMP, UNIX_DATE, FROM_UNIXTIME, FROM_DAYS ---- */

static int unix_timestamp_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    *out = mp_v_bigint(n ? a[0].u.i64 : mp_clock_wall_ms());
    return 0;
}
static const mp_fn_sig sigs_unix_timestamp[] = {
    {"", "l", unix_timestamp_fn, false},
    {"t", "l", unix_timestamp_fn, false},
};
MP_FN_SIG_BIND(unix_timestamp, "UNIX_TIMESTAMP")

static int unix_date_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_int(n ? a[0].u.i32 : (int32_t)mp_fn_floor_div(mp_clock_wall_ms(), MS_PER_DAY));
    return 0;
}
static const mp_fn_sig sigs_unix_date[] = {
    {"", "i", unix_date_fn, false},
    {"a", "i", unix_date_fn, false},
};
MP_FN_SIG_BIND(unix_date, "UNIX_DATE")

static int from_unixtime_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                            const void *d)
{
    *out = mp_v_timestamp(mp_fn_num_int64(&a[0]));
    return 0;
}
static const mp_fn_sig sigs_from_unixtime[] = {{"l", "t", from_unixtime_fn, false}};
MP_FN_SIG_BIND(from_unixtime, "FROM_UNIXTIME")

static int from_days_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_date(a[0].u.i32);
    return 0;
}
static const mp_fn_sig sigs_from_days[] = {{"i", "a", from_days_fn, false}};
MP_FN_SIG_BIND(from_days, "FROM_DAYS")

/* ---- arithmetic with time units ---- */

/* java.util.concurrent.TimeUnit: the unit's length in nanoseconds. */
static int unit_nanos(mp_fn_ctx *cx, const char *name, const mp_value *u, int64_t *ns)
{
    static const struct {
        const char *plural, *singular;
        int64_t ns;
    } units[] = {
        {"NANOSECONDS", "NANOSECOND", 1},
        {"MICROSECONDS", "MICROSECOND", 1000},
        {"MILLISECONDS", "MILLISECOND", 1000000},
        {"SECONDS", "SECOND", 1000000000},
        {"MINUTES", "MINUTE", 60000000000LL},
        {"HOURS", "HOUR", 3600000000000LL},
        {"DAYS", "DAY", NS_PER_DAY},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (mp_fn_ieq(u->u.str, u->len, units[i].plural) ||
            mp_fn_ieq(u->u.str, u->len, units[i].singular)) {
            *ns = units[i].ns;
            return 0;
        }
    }
    return mp_fn_fail(cx, MP_EINPUT, name, "unknown time unit '%.*s'", (int)u->len, u->u.str);
}

/* TimeUnit.toMillis(n): truncating toward zero (n is an INTEGER, so the
 * product fits 64 bits). */
static int64_t to_millis(int64_t unit_ns, int64_t n)
{
    if (unit_ns >= 1000000)
        return n * (unit_ns / 1000000);
    return n / (1000000 / unit_ns);
}

static int timestamp_add(mp_fn_ctx *cx, const char *name, const mp_value *a, mp_value *out,
                         int sign)
{
    int64_t ns = 0;
    int rc = unit_nanos(cx, name, &a[0], &ns);
    if (rc)
        return rc;
    /* wraps on overflow, as Java's long arithmetic does */
    *out = mp_v_timestamp(
        (int64_t)((uint64_t)a[2].u.i64 + (uint64_t)(sign * to_millis(ns, a[1].u.i32))));
    return 0;
}

static int timestampadd_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return timestamp_add(cx, "TIMESTAMPADD", a, out, 1);
}
static int timestampsub_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return timestamp_add(cx, "TIMESTAMPSUB", a, out, -1);
}
static const mp_fn_sig sigs_timestampadd[] = {{"sit", "t", timestampadd_fn, false}};
static const mp_fn_sig sigs_timestampsub[] = {{"sit", "t", timestampsub_fn, false}};
MP_FN_SIG_BIND(timestampadd, "TIMESTAMPADD")
MP_FN_SIG_BIND(timestampsub, "TIMESTAMPSUB")

/* ksqlDB: TimeUnit.MILLISECONDS.toDays(date in ms + unit.toMillis(n)),
 * a division that truncates toward zero. */
static int date_add(mp_fn_ctx *cx, const char *name, const mp_value *a, mp_value *out, int sign)
{
    int64_t ns = 0;
    int rc = unit_nanos(cx, name, &a[0], &ns);
    if (rc)
        return rc;
    int64_t ms = (int64_t)a[2].u.i32 * MS_PER_DAY + sign * to_millis(ns, a[1].u.i32);
    int64_t days = ms / MS_PER_DAY;
    if (days < INT32_MIN || days > INT32_MAX)
        return mp_fn_fail(cx, MP_EINPUT, name, "date out of range");
    *out = mp_v_date((int32_t)days);
    return 0;
}

static int dateadd_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return date_add(cx, "DATEADD", a, out, 1);
}
static int datesub_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return date_add(cx, "DATESUB", a, out, -1);
}
static const mp_fn_sig sigs_dateadd[] = {{"sia", "a", dateadd_fn, false}};
static const mp_fn_sig sigs_datesub[] = {{"sia", "a", datesub_fn, false}};
MP_FN_SIG_BIND(dateadd, "DATEADD")
MP_FN_SIG_BIND(datesub, "DATESUB")

/* LocalTime.plus: wraps around midnight. */
static int time_add(mp_fn_ctx *cx, const char *name, const mp_value *a, mp_value *out, int sign)
{
    int64_t ns = 0;
    int rc = unit_nanos(cx, name, &a[0], &ns);
    if (rc)
        return rc;
    mp_i128 delta = (mp_i128)ns * a[1].u.i32 * sign;
    int64_t delta_day = (int64_t)(delta % NS_PER_DAY);
    int64_t nod = mp_fn_floor_mod((int64_t)a[2].u.i32 * 1000000 + delta_day, NS_PER_DAY);
    *out = mp_v_time((int32_t)(nod / 1000000));
    return 0;
}

static int timeadd_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return time_add(cx, "TIMEADD", a, out, 1);
}
static int timesub_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return time_add(cx, "TIMESUB", a, out, -1);
}
static const mp_fn_sig sigs_timeadd[] = {{"sim", "m", timeadd_fn, false}};
static const mp_fn_sig sigs_timesub[] = {{"sim", "m", timesub_fn, false}};
MP_FN_SIG_BIND(timeadd, "TIMEADD")
MP_FN_SIG_BIND(timesub, "TIMESUB")

/* ---- CONVERT_TZ ---- */

static int convert_tz_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    mp_fn_tz from, to;
    int rc = get_zone(cx, "CONVERT_TZ", &a[1], &from);
    if (!rc)
        rc = get_zone(cx, "CONVERT_TZ", &a[2], &to);
    if (rc)
        return rc;
    int64_t ms = a[0].u.i64, sec = mp_fn_floor_div(ms, 1000);
    int64_t delta = (int64_t)mp_fn_tz_offset_at(&to, sec) - mp_fn_tz_offset_at(&from, sec);
    *out = mp_v_timestamp((int64_t)((uint64_t)ms + (uint64_t)(delta * 1000)));
    return 0;
}
static const mp_fn_sig sigs_convert_tz[] = {{"tss", "t", convert_tz_fn, false}};
MP_FN_SIG_BIND(convert_tz, "CONVERT_TZ")

/* ---- the table ---- */

static const mp_fn_doc docs_timestamptostring[] = {
    {"(ms BIGINT, format STRING)", "STRING",
     "Epoch milliseconds formatted by a java.time pattern in UTC."},
    {"(ms BIGINT, format STRING, zone STRING)", "STRING", "The same in a time zone."},
};
static const mp_fn_doc docs_stringtotimestamp[] = {
    {"(s STRING, format STRING)", "BIGINT",
     "Text parsed by a pattern, as epoch milliseconds (UTC)."},
    {"(s STRING, format STRING, zone STRING)", "BIGINT",
     "The same, the text read as a local time in zone."},
};
static const mp_fn_doc docs_format_timestamp[] = {
    {"(ts TIMESTAMP, format STRING)", "STRING", "ts formatted by a java.time pattern in UTC."},
    {"(ts TIMESTAMP, format STRING, zone STRING)", "STRING", "ts formatted in a time zone."},
};
static const mp_fn_doc docs_parse_timestamp[] = {
    {"(s STRING, format STRING)", "TIMESTAMP",
     "Text parsed by a pattern (UTC unless it has a zone)."},
    {"(s STRING, format STRING, zone STRING)", "TIMESTAMP",
     "The same, the text read as a local time in zone."},
};
static const mp_fn_doc docs_format_date[] = {
    {"(d DATE, format STRING)", "STRING", "d formatted by a java.time pattern."}};
static const mp_fn_doc docs_parse_date[] = {
    {"(s STRING, format STRING)", "DATE", "Text parsed by a pattern (letters case-insensitive)."}};
static const mp_fn_doc docs_datetostring[] = {
    {"(days INTEGER, format STRING)", "STRING", "Days since 1970-01-01 formatted by a pattern."}};
static const mp_fn_doc docs_stringtodate[] = {
    {"(s STRING, format STRING)", "INTEGER",
     "Text parsed by a pattern, as days since 1970-01-01."}};
static const mp_fn_doc docs_format_time[] = {
    {"(t TIME, format STRING)", "STRING", "t formatted by a java.time pattern."}};
static const mp_fn_doc docs_parse_time[] = {
    {"(s STRING, format STRING)", "TIME", "Text parsed by a pattern into a time of day."}};
static const mp_fn_doc docs_unix_timestamp[] = {
    {"()", "BIGINT", "The current time in epoch milliseconds."},
    {"(ts TIMESTAMP)", "BIGINT", "ts in epoch milliseconds."},
};
static const mp_fn_doc docs_unix_date[] = {
    {"()", "INTEGER", "Today (UTC) as days since 1970-01-01."},
    {"(d DATE)", "INTEGER", "d as days since 1970-01-01."},
};
static const mp_fn_doc docs_from_unixtime[] = {
    {"(ms BIGINT)", "TIMESTAMP", "Epoch milliseconds as a TIMESTAMP."}};
static const mp_fn_doc docs_from_days[] = {
    {"(days INTEGER)", "DATE", "Days since 1970-01-01 as a DATE."}};
static const mp_fn_doc docs_timestampadd[] = {
    {"(unit, n INTEGER, ts TIMESTAMP)", "TIMESTAMP", "ts plus n units (DAYS, HOURS, ...)."}};
static const mp_fn_doc docs_timestampsub[] = {
    {"(unit, n INTEGER, ts TIMESTAMP)", "TIMESTAMP", "ts minus n units."}};
static const mp_fn_doc docs_dateadd[] = {
    {"(unit, n INTEGER, d DATE)", "DATE", "d plus n units, in whole days."}};
static const mp_fn_doc docs_datesub[] = {
    {"(unit, n INTEGER, d DATE)", "DATE", "d minus n units, in whole days."}};
static const mp_fn_doc docs_timeadd[] = {
    {"(unit, n INTEGER, t TIME)", "TIME", "t plus n units, wrapping around midnight."}};
static const mp_fn_doc docs_timesub[] = {
    {"(unit, n INTEGER, t TIME)", "TIME", "t minus n units, wrapping around midnight."}};
static const mp_fn_doc docs_convert_tz[] = {
    {"(ts TIMESTAMP, from_zone STRING, to_zone STRING)", "TIMESTAMP",
     "A wall-clock TIMESTAMP moved from one time zone to another."}};

#define SCALAR(NAME, desc, docs, bind)                                                             \
    {                                                                                              \
        NAME, MP_FN_SCALAR, "DATE / TIME", desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL,  \
            NULL                                                                                   \
    }

const mp_fn_def mp_fn_datetime_defs[] = {
    SCALAR("TIMESTAMPTOSTRING", "Formats epoch milliseconds (deprecated: FORMAT_TIMESTAMP).",
           docs_timestamptostring, bind_timestamptostring),
    SCALAR("STRINGTOTIMESTAMP",
           "Parses text into epoch milliseconds (deprecated: "
           "PARSE_TIMESTAMP).",
           docs_stringtotimestamp, bind_stringtotimestamp),
    SCALAR("FORMAT_TIMESTAMP", "Formats a TIMESTAMP as text.", docs_format_timestamp,
           bind_format_timestamp),
    SCALAR("PARSE_TIMESTAMP", "Parses text into a TIMESTAMP.", docs_parse_timestamp,
           bind_parse_timestamp),
    SCALAR("FORMAT_DATE", "Formats a DATE as text.", docs_format_date, bind_format_date),
    SCALAR("PARSE_DATE", "Parses text into a DATE.", docs_parse_date, bind_parse_date),
    SCALAR("DATETOSTRING", "Formats days since the epoch (deprecated: FORMAT_DATE).",
           docs_datetostring, bind_datetostring),
    SCALAR("STRINGTODATE", "Parses text into days since the epoch (deprecated: PARSE_DATE).",
           docs_stringtodate, bind_stringtodate),
    SCALAR("FORMAT_TIME", "Formats a TIME as text.", docs_format_time, bind_format_time),
    SCALAR("PARSE_TIME", "Parses text into a TIME.", docs_parse_time, bind_parse_time),
    SCALAR("UNIX_TIMESTAMP", "Epoch milliseconds of now or of a TIMESTAMP.", docs_unix_timestamp,
           bind_unix_timestamp),
    SCALAR("UNIX_DATE", "Days since the epoch of today or of a DATE.", docs_unix_date,
           bind_unix_date),
    SCALAR("FROM_UNIXTIME", "Epoch milliseconds as a TIMESTAMP.", docs_from_unixtime,
           bind_from_unixtime),
    SCALAR("FROM_DAYS", "Days since the epoch as a DATE.", docs_from_days, bind_from_days),
    SCALAR("TIMESTAMPADD", "Adds a duration to a TIMESTAMP.", docs_timestampadd, bind_timestampadd),
    SCALAR("TIMESTAMPSUB", "Subtracts a duration from a TIMESTAMP.", docs_timestampsub,
           bind_timestampsub),
    SCALAR("DATEADD", "Adds a duration to a DATE.", docs_dateadd, bind_dateadd),
    SCALAR("DATESUB", "Subtracts a duration from a DATE.", docs_datesub, bind_datesub),
    SCALAR("TIMEADD", "Adds a duration to a TIME.", docs_timeadd, bind_timeadd),
    SCALAR("TIMESUB", "Subtracts a duration from a TIME.", docs_timesub, bind_timesub),
    SCALAR("CONVERT_TZ", "Converts a TIMESTAMP between time zones.", docs_convert_tz,
           bind_convert_tz),
};
const size_t mp_fn_datetime_count = MP_FN_COUNT(mp_fn_datetime_defs);
