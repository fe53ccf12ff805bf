/* The proleptic Gregorian calendar and time zones for the date and time
 * functions.
 *
 * Zones follow java.time.ZoneId.of: "Z", fixed offsets ("+05:30", "-8",
 * "+0530"), "UTC" / "GMT" / "UT" optionally followed by an offset, and
 * TZ database regions ("America/Los_Angeles"). Regions are read from the
 * system's TZif files (RFC 8536): the 64-bit transition table, then the
 * POSIX TZ rule in the footer for instants past the last transition. The
 * process keeps every region it has loaded in a list guarded by a mutex
 * (a few hundred at most, each a few kilobytes); entries are immutable
 * once published, so readers use them without the lock. The process-wide
 * TZ variable and localtime() are never touched. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/fn_builtin.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define TZIF_MAX_SIZE (1 << 20)

/* ---- calendar ---- */

bool mp_fn_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int mp_fn_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && mp_fn_is_leap(y) ? 29 : dim[(m - 1) % 12];
}

/* Days since 1970-01-01 of a civil date (counting years of 400 days cycles
 * from a March-based year so that the leap day comes last). */
int64_t mp_fn_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = mp_fn_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void mp_fn_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = mp_fn_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday (1970-01-01 was a Thursday). */
static int weekday(int64_t days)
{
    return (int)mp_fn_floor_mod(days + 4, 7);
}

/* ---- POSIX TZ rules ---- */

typedef struct tz_date {
    char kind; /* 'J' (1..365, no leap day), 'D' (0..365), 'M' (month.week.day) */
    int a, b, c;
    int32_t time; /* seconds after local midnight */
} tz_date;

typedef struct tz_rule {
    char std_name[16], dst_name[16];
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    tz_date start, end;
} tz_rule;

struct mp_fn_tzdata {
    char name[64];
    size_t ntrans;
    int64_t *trans;
    uint8_t *idx;
    size_t ntypes;
    int32_t *utoff;
    uint8_t *abbrind;
    char *abbrs;
    size_t nabbr;
    bool has_rule;
    tz_rule rule;
    struct mp_fn_tzdata *next;
};

static const char *rule_name(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>') {
            if (n + 1 < cap)
                out[n++] = *p;
            p++;
        }
        if (*p != '>')
            return NULL;
        p++;
    } else {
        while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
            if (n + 1 < cap)
                out[n++] = *p;
            p++;
        }
    }
    out[n] = '\0';
    return n >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] as seconds (sign as written). */
static const char *rule_hms(const char *p, int32_t *secs)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int32_t parts[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (*p < '0' || *p > '9')
            return k == 0 ? NULL : p;
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        parts[k] = v;
        if (*p != ':' || k == 2)
            break;
        p++;
    }
    *secs = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return p;
}

static const char *rule_int(const char *p, int *v)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int x = 0;
    while (*p >= '0' && *p <= '9' && x < 100000)
        x = x * 10 + (*p++ - '0');
    *v = x;
    return p;
}

static const char *rule_date(const char *p, tz_date *d)
{
    d->time = 7200;
    if (*p == 'J') {
        d->kind = 'J';
        if (!(p = rule_int(p + 1, &d->a)) || d->a < 1 || d->a > 365)
            return NULL;
    } else if (*p == 'M') {
        d->kind = 'M';
        if (!(p = rule_int(p + 1, &d->a)) || *p++ != '.' || !(p = rule_int(p, &d->b)) ||
            *p++ != '.' || !(p = rule_int(p, &d->c)))
            return NULL;
        if (d->a < 1 || d->a > 12 || d->b < 1 || d->b > 5 || d->c > 6)
            return NULL;
    } else {
        d->kind = 'D';
        if (!(p = rule_int(p, &d->a)) || d->a > 365)
            return NULL;
    }
    if (*p == '/') {
        p = rule_hms(p + 1, &d->time);
        if (!p)
            return NULL;
    }
    return p;
}

static bool parse_rule(const char *s, tz_rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = rule_name(s, r->std_name, sizeof r->std_name);
    if (!p)
        return false;
    int32_t off;
    if (!(p = rule_hms(p, &off)))
        return false;
    r->std_off = -off; /* POSIX offsets are west of UTC */
    if (!*p)
        return true;
    if (!(p = rule_name(p, r->dst_name, sizeof r->dst_name)))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = rule_hms(p, &off)))
            return false;
        r->dst_off = -off;
    }
    if (!*p) {
        /* no dates: the US rules, as most implementations assume */
        r->start = (tz_date){'M', 3, 2, 0, 7200};
        r->end = (tz_date){'M', 11, 1, 0, 7200};
        return true;
    }
    if (*p++ != ',' || !(p = rule_date(p, &r->start)) || *p++ != ',' ||
        !(p = rule_date(p, &r->end)))
        return false;
    return *p == '\0';
}

/* Local seconds since the epoch at which a rule date happens in year y. */
static int64_t rule_local(const tz_date *d, int64_t y)
{
    int64_t jan1 = mp_fn_days_from_civil(y, 1, 1), day;
    switch (d->kind) {
    case 'J': day = jan1 + d->a - 1 + (mp_fn_is_leap(y) && d->a >= 60 ? 1 : 0); break;
    case 'D': day = jan1 + d->a; break;
    default: {
        int64_t first = mp_fn_days_from_civil(y, d->a, 1);
        int dom = 1 + (d->c - weekday(first) + 7) % 7 + (d->b - 1) * 7;
        while (dom > mp_fn_days_in_month(y, d->a))
            dom -= 7;
        day = first + dom - 1;
        break;
    }
    }
    return day * 86400 + d->time;
}

static bool rule_is_dst(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return false;
    int64_t y;
    int m, d;
    mp_fn_civil_from_days(mp_fn_floor_div(t + r->std_off, 86400), &y, &m, &d);
    int64_t s = rule_local(&r->start, y) - r->std_off;
    int64_t e = rule_local(&r->end, y) - r->dst_off;
    if (s < e)
        return t >= s && t < e;
    return !(t >= e && t < s); /* southern hemisphere: DST spans the new year */
}

/* ---- TZif ---- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static void tzdata_free(mp_fn_tzdata *z)
{
    if (!z)
        return;
    free(z->trans);
    free(z->idx);
    free(z->utoff);
    free(z->abbrind);
    free(z->abbrs);
    free(z);
}

/* Parses a TZif file; NULL when it is not one (or memory ran out). */
static mp_fn_tzdata *tzif_parse(const uint8_t *buf, size_t len, const char *name)
{
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        return NULL;
    int version = buf[4];
    const uint8_t *h = buf;
    size_t off = 0;
    bool wide = false;
    if (version >= '2') {
        /* skip the 32-bit block to the second header */
        uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
        uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        size_t skip = 44 + (size_t)timecnt * 5 + (size_t)typecnt * 6 + charcnt + (size_t)leap * 8 +
                      isstd + isut;
        if (skip + 44 > len || memcmp(buf + skip, "TZif", 4) != 0)
            return NULL;
        off = skip;
        wide = true;
    }
    h = buf + off;
    uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
    uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
    size_t tsz = wide ? 8 : 4;
    size_t body = (size_t)timecnt * (tsz + 1) + (size_t)typecnt * 6 + charcnt +
                  (size_t)leap * (tsz + 4) + isstd + isut;
    if (typecnt == 0 || typecnt > 256 || off + 44 + body > len)
        return NULL;
    mp_fn_tzdata *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    snprintf(z->name, sizeof z->name, "%s", name);
    z->ntrans = timecnt;
    z->ntypes = typecnt;
    z->nabbr = charcnt;
    z->trans = malloc((timecnt ? timecnt : 1) * sizeof *z->trans);
    z->idx = malloc(timecnt ? timecnt : 1);
    z->utoff = malloc(typecnt * sizeof *z->utoff);
    z->abbrind = malloc(typecnt);
    z->abbrs = malloc(charcnt + 1);
    if (!z->trans || !z->idx || !z->utoff || !z->abbrind || !z->abbrs) {
        tzdata_free(z);
        return NULL;
    }
    const uint8_t *p = h + 44;
    for (uint32_t i = 0; i < timecnt; i++, p += tsz)
        z->trans[i] = wide ? be64(p) : (int64_t)(int32_t)be32(p);
    for (uint32_t i = 0; i < timecnt; i++, p++) {
        z->idx[i] = *p;
        if (*p >= typecnt) {
            tzdata_free(z);
            return NULL;
        }
    }
    for (uint32_t i = 0; i < typecnt; i++, p += 6) {
        z->utoff[i] = (int32_t)be32(p);
        z->abbrind[i] = p[5];
    }
    memcpy(z->abbrs, p, charcnt);
    z->abbrs[charcnt] = '\0';
    p += charcnt + (size_t)leap * (tsz + 4) + isstd + isut;
    /* the footer: "\n<POSIX TZ>\n" */
    if (wide && p < buf + len && *p == '\n') {
        const uint8_t *q = p + 1;
        const uint8_t *nl = memchr(q, '\n', (size_t)(buf + len - q));
        if (nl && nl > q && (size_t)(nl - q) < 128) {
            char tz[128];
            memcpy(tz, q, (size_t)(nl - q));
            tz[nl - q] = '\0';
            z->has_rule = parse_rule(tz, &z->rule);
        }
    }
    return z;
}

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static mp_fn_tzdata *zone_cache;

static bool valid_region(const char *name)
{
    if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '~' || c == '/' || c == '.' || c == '_' || c == '+' || c == '-'))
            return false;
        if (c == '/' && (p[1] == '/' || p[1] == '.' || p[1] == '\0'))
            return false;
        if (c == '.' && p[1] == '.')
            return false;
    }
    return true;
}

static const mp_fn_tzdata *region_load(const char *name)
{
    pthread_mutex_lock(&zone_lock);
    for (mp_fn_tzdata *z = zone_cache; z; z = z->next) {
        if (strcmp(z->name, name) == 0) {
            pthread_mutex_unlock(&zone_lock);
            return z;
        }
    }
    mp_fn_tzdata *z = NULL;
    char path[sizeof ZONEINFO_DIR + 72];
    snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f) {
        uint8_t *buf = malloc(TZIF_MAX_SIZE);
        if (buf) {
            size_t len = fread(buf, 1, TZIF_MAX_SIZE, f);
            z = tzif_parse(buf, len, name);
            free(buf);
        }
        fclose(f);
    }
    if (z) {
        z->next = zone_cache;
        zone_cache = z;
    }
    pthread_mutex_unlock(&zone_lock);
    return z;
}

/* ---- zone ids ---- */

/* Java's ZoneOffset.of forms after the sign: h, hh, hh:mm, hhmm, hh:mm:ss,
 * hhmmss; at most 18 hours. */
static bool parse_offset(const char *s, size_t n, int32_t *out)
{
    if (n < 2 || (s[0] != '+' && s[0] != '-'))
        return false;
    int sign = s[0] == '-' ? -1 : 1;
    const char *p = s + 1;
    size_t m = n - 1;
    int h = 0, mi = 0, se = 0;
#define D(i) (p[i] >= '0' && p[i] <= '9')
#define V(i) (p[i] - '0')
    if (m == 1 && D(0)) {
        h = V(0);
    } else if (m == 2 && D(0) && D(1)) {
        h = V(0) * 10 + V(1);
    } else if (m == 4 && D(0) && D(1) && D(2) && D(3)) {
        h = V(0) * 10 + V(1);
        mi = V(2) * 10 + V(3);
    } else if (m == 5 && D(0) && D(1) && p[2] == ':' && D(3) && D(4)) {
        h = V(0) * 10 + V(1);
        mi = V(3) * 10 + V(4);
    } else if (m == 6 && D(0) && D(1) && D(2) && D(3) && D(4) && D(5)) {
        h = V(0) * 10 + V(1);
        mi = V(2) * 10 + V(3);
        se = V(4) * 10 + V(5);
    } else if (m == 8 && D(0) && D(1) && p[2] == ':' && D(3) && D(4) && p[5] == ':' && D(6) &&
               D(7)) {
        h = V(0) * 10 + V(1);
        mi = V(3) * 10 + V(4);
        se = V(6) * 10 + V(7);
    } else {
        return false;
    }
#undef D
#undef V
    if (h > 18 || mi > 59 || se > 59 || (h == 18 && (mi || se)))
        return false;
    *out = sign * (h * 3600 + mi * 60 + se);
    return true;
}

/* ZoneOffset's id: "Z", "+05:30", "-08:00", "+05:30:15". */
static void offset_id(int32_t off, char *out, size_t cap)
{
    if (off == 0) {
        snprintf(out, cap, "Z");
        return;
    }
    int32_t a = off < 0 ? -off : off;
    if (a % 60)
        snprintf(out, cap, "%c%02d:%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60, a % 60);
    else
        snprintf(out, cap, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

int mp_fn_tz_get(const char *name, size_t len, mp_fn_tz *out, mp_error *e)
{
    memset(out, 0, sizeof *out);
    char id[64];
    if (len == 0 || len >= sizeof id || memchr(name, '\0', len))
        return mp_error_set(e, MP_EINPUT, "Unknown time-zone ID: %.*s", (int)(len > 80 ? 80 : len),
                            name);
    memcpy(id, name, len);
    id[len] = '\0';
    out->fixed = true;
    if (strcmp(id, "Z") == 0) {
        snprintf(out->id, sizeof out->id, "Z");
        return 0;
    }
    if (id[0] == '+' || id[0] == '-') {
        if (!parse_offset(id, len, &out->offset))
            return mp_error_set(e, MP_EINPUT, "Invalid ID for ZoneOffset, invalid format: %s", id);
        offset_id(out->offset, out->id, sizeof out->id);
        return 0;
    }
    static const char *const prefixes[] = {"UTC", "GMT", "UT"};
    for (size_t i = 0; i < 3; i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(id, prefixes[i], pl) != 0)
            continue;
        if (id[pl] == '\0') {
            snprintf(out->id, sizeof out->id, "%s", id);
            return 0;
        }
        if (id[pl] == '+' || id[pl] == '-') {
            if (!parse_offset(id + pl, len - pl, &out->offset))
                return mp_error_set(e, MP_EINPUT, "Invalid ID for offset-based ZoneId: %s", id);
            char oid[16];
            offset_id(out->offset, oid, sizeof oid);
            snprintf(out->id, sizeof out->id, "%s%s", prefixes[i], out->offset ? oid : "");
            return 0;
        }
    }
    if (!valid_region(id))
        return mp_error_set(e, MP_EINPUT, "Invalid ID for region-based ZoneId, invalid format: %s",
                            id);
    const mp_fn_tzdata *z = region_load(id);
    if (!z)
        return mp_error_set(e, MP_EINPUT, "Unknown time-zone ID: %s", id);
    out->fixed = false;
    out->data = z;
    snprintf(out->id, sizeof out->id, "%s", id);
    return 0;
}

/* The local time type in force at t, or -1 when the footer rule applies. */
static int type_at(const mp_fn_tzdata *z, int64_t t)
{
    if (z->ntrans == 0)
        return z->has_rule ? -1 : 0;
    if (t < z->trans[0])
        return 0;
    if (t >= z->trans[z->ntrans - 1] && z->has_rule)
        return -1;
    size_t lo = 0, hi = z->ntrans; /* last i with trans[i] <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->idx[lo];
}

int32_t mp_fn_tz_offset_at(const mp_fn_tz *z, int64_t t)
{
    if (z->fixed || !z->data)
        return z->offset;
    const mp_fn_tzdata *d = z->data;
    int k = type_at(d, t);
    if (k < 0)
        return rule_is_dst(&d->rule, t) ? d->rule.dst_off : d->rule.std_off;
    return d->utoff[k];
}

const char *mp_fn_tz_abbrev(const mp_fn_tz *z, int64_t t)
{
    if (z->fixed || !z->data)
        return NULL;
    const mp_fn_tzdata *d = z->data;
    int k = type_at(d, t);
    if (k < 0)
        return rule_is_dst(&d->rule, t) ? d->rule.dst_name : d->rule.std_name;
    if (d->abbrind[k] >= d->nabbr)
        return NULL;
    return d->abbrs + d->abbrind[k];
}

int32_t mp_fn_tz_offset_local(const mp_fn_tz *z, int64_t local)
{
    if (z->fixed || !z->data)
        return z->offset;
    /* offsets in force a day either side bracket any transition near local */
    int32_t before = mp_fn_tz_offset_at(z, local - 86400),
            after = mp_fn_tz_offset_at(z, local + 86400);
    if (before == after)
        return before;
    bool ok_before = mp_fn_tz_offset_at(z, local - before) == before;
    bool ok_after = mp_fn_tz_offset_at(z, local - after) == after;
    if (ok_before)
        return before; /* the earlier offset in an overlap, or the only valid one */
    if (ok_after)
        return after;
    return before; /* a gap: java.time moves the time forward by the gap */
}
