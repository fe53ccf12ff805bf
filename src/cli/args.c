#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_flag(const mp_flag *flags, const char *name, size_t len)
{
    for (int i = 0; flags[i].name; i++)
        if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
            return i;
    return -1;
}

int mp_args_parse(int argc, char **argv, const mp_flag *flags, mp_args *a, const char *usage)
{
    memset(a, 0, sizeof *a);
    a->flags = flags;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (only_pos || s[0] != '-' || !strcmp(s, "-")) {
            if (a->npos == MP_ARGS_MAX_POS) {
                fprintf(stderr, "mlpipe %s: too many arguments\n%s", argv[0], usage);
                return 2;
            }
            a->pos[a->npos++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            a->help = 1;
            continue;
        }
        if (strncmp(s, "--", 2)) {
            fprintf(stderr, "mlpipe %s: unknown option '%s'\n%s", argv[0], s, usage);
            return 2;
        }
        const char *name = s + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int f = find_flag(flags, name, len);
        if (f < 0) {
            fprintf(stderr, "mlpipe %s: unknown option '--%.*s'\n%s", argv[0], (int)len, name, usage);
            return 2;
        }
        const char *val = "1";
        if (flags[f].takes_value) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(stderr, "mlpipe %s: option '--%s' needs a value\n%s", argv[0], flags[f].name, usage);
                return 2;
            }
        } else if (eq) {
            fprintf(stderr, "mlpipe %s: option '--%s' takes no value\n", argv[0], flags[f].name);
            return 2;
        }
        if (flags[f].repeatable) {
            if (a->nrepeat == MP_ARGS_MAX_REPEAT) {
                fprintf(stderr, "mlpipe %s: too many '--%s' options\n", argv[0], flags[f].name);
                return 2;
            }
            a->repeat_flag[a->nrepeat] = f;
            a->repeat[a->nrepeat++] = val;
        }
        a->value[f] = val;
    }
    return 0;
}

const char *mp_args_get(const mp_args *a, const char *name)
{
    int f = find_flag(a->flags, name, strlen(name));
    return f < 0 ? NULL : a->value[f];
}

int mp_args_has(const mp_args *a, const char *name) { return mp_args_get(a, name) != NULL; }

int mp_args_double(const mp_args *a, const char *cmd, const char *name, double def, double *out)
{
    const char *v = mp_args_get(a, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end) {
        fprintf(stderr, "mlpipe %s: --%s: '%s' is not a number\n", cmd, name, v);
        return 2;
    }
    *out = x;
    return 0;
}

int mp_args_ulong(const mp_args *a, const char *cmd, const char *name, unsigned long def,
                  unsigned long *out)
{
    const char *v = mp_args_get(a, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') {
        fprintf(stderr, "mlpipe %s: --%s: '%s' is not a non-negative integer\n", cmd, name, v);
        return 2;
    }
    *out = x;
    return 0;
}

size_t mp_args_all(const mp_args *a, const char *name, const char **out, size_t max)
{
    int f = find_flag(a->flags, name, strlen(name));
    size_t n = 0;
    for (size_t i = 0; f >= 0 && i < a->nrepeat; i++)
        if (a->repeat_flag[i] == f) {
            if (n < max)
                out[n] = a->repeat[i];
            n++;
        }
    return n;
}
