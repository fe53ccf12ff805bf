/* Flag parsing for the subcommands: GNU-style long flags (`--name value`
 * or `--name=value`), boolean flags, repeatable flags, and positionals. */
#ifndef MP_CLI_ARGS_H
#define MP_CLI_ARGS_H

#include <stddef.h>

#define MP_ARGS_MAX_FLAGS 32
#define MP_ARGS_MAX_POS 8
#define MP_ARGS_MAX_REPEAT 64

typedef struct mp_flag {
    const char *name;  /* without the leading "--" */
    int takes_value;   /* 0: boolean */
    int repeatable;
} mp_flag;

typedef struct mp_args {
    const mp_flag *flags;
    const char *value[MP_ARGS_MAX_FLAGS]; /* last value, or "1" for a boolean */
    const char *repeat[MP_ARGS_MAX_REPEAT];
    int repeat_flag[MP_ARGS_MAX_REPEAT];
    size_t nrepeat;
    const char *pos[MP_ARGS_MAX_POS];
    size_t npos;
    int help;
} mp_args;

/* Parses argv[1..argc) (argv[0] is the subcommand). Prints a usage error
 * naming the flag and returns 2 on failure. */
int mp_args_parse(int argc, char **argv, const mp_flag *flags, mp_args *a, const char *usage);
/* The value of flag name, or NULL when absent. */
const char *mp_args_get(const mp_args *a, const char *name);
int mp_args_has(const mp_args *a, const char *name);
/* The values of a repeatable flag in order: fills out (up to max) and
 * returns how many there are. */
size_t mp_args_all(const mp_args *a, const char *name, const char **out, size_t max);

/* Typed conversions that print "mlpipe CMD: --flag: ..." and return 2 on
 * bad values. */
int mp_args_double(const mp_args *a, const char *cmd, const char *name, double def, double *out);
int mp_args_ulong(const mp_args *a, const char *cmd, const char *name, unsigned long def,
                  unsigned long *out);

#endif
