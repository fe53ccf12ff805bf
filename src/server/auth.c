#include "server/auth.h"

#include <crypt.h>
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "data/sql_text.h"

#define CACHE_SLOTS 32
#define MAX_HEADER 512

typedef struct user {
    char *name;
    char *password; /* a crypt(3) hash when hashed, else the plain text */
    int hashed;
} user;

struct mp_auth {
    user *users;
    size_t n;
    pthread_mutex_t mu;
    char cache[CACHE_SLOTS][MAX_HEADER];
    size_t next_slot;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

void mp_auth_free(mp_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->users[i].name);
        free(a->users[i].password);
    }
    free(a->users);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static int add_user(mp_auth *a, const char *name, const char *pw, int hashed)
{
    user *u = realloc(a->users, (a->n + 1) * sizeof *u);
    if (!u)
        return MP_ENOMEM;
    a->users = u;
    u[a->n].name = strdup(name);
    u[a->n].password = strdup(pw);
    u[a->n].hashed = hashed;
    if (!u[a->n].name || !u[a->n].password) {
        free(u[a->n].name);
        free(u[a->n].password);
        return MP_ENOMEM;
    }
    a->n++;
    return 0;
}

int mp_auth_load(const char *path, mp_auth **out, mp_error *e)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = mp_read_file(path, &text, &len, e);
    if (rc)
        return rc;
    mp_auth *a = calloc(1, sizeof *a);
    if (!a) {
        free(text);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    int line = 0;
    char *save = NULL;
    /* strtok_r skips empty lines, so count lines by hand. */
    char *p = text;
    while (p && *p) {
        line++;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *s = trim(p);
        p = nl ? nl + 1 : NULL;
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *colon = strchr(s, ':');
        if (!colon) {
            rc = mp_error_set(e, MP_EINPUT, "%s:%d: expected 'name: password[,role...]'", path,
                              line);
            goto fail;
        }
        *colon = '\0';
        char *name = trim(s);
        char *pw = trim(colon + 1);
        /* Roles follow the first ','; a crypt hash never contains one. */
        char *comma = strchr(pw, ',');
        if (comma)
            *comma = '\0';
        pw = trim(pw);
        if (!*name || !*pw) {
            rc = mp_error_set(e, MP_EINPUT, "%s:%d: %s", path, line,
                              !*name ? "empty user name" : "empty password");
            goto fail;
        }
        int hashed = 0;
        if (strncmp(pw, "CRYPT:", 6) == 0) {
            pw += 6;
            hashed = 1;
            if (pw[0] != '$') {
                rc = mp_error_set(e, MP_EINPUT,
                                  "%s:%d: CRYPT: needs a crypt(3) hash such as "
                                  "`openssl passwd -6` prints",
                                  path, line);
                goto fail;
            }
        } else if (strncmp(pw, "MD5:", 4) == 0 || strncmp(pw, "OBF:", 4) == 0) {
            rc = mp_error_set(e, MP_EINPUT,
                              "%s:%d: %.3s passwords are not supported; use CRYPT:<hash> "
                              "(`openssl passwd -6`)",
                              path, line, pw);
            goto fail;
        }
        if ((rc = add_user(a, name, pw, hashed))) {
            mp_error_set(e, rc, "out of memory");
            goto fail;
        }
    }
    (void)save;
    free(text);
    if (a->n == 0) {
        mp_auth_free(a);
        return mp_error_set(e, MP_EINPUT, "%s: no users", path);
    }
    *out = a;
    return 0;
fail:
    free(text);
    mp_auth_free(a);
    return rc;
}

/* Compares without an early exit, so timing says nothing about where two
 * secrets differ. */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    size_t n = la < lb ? la : lb;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int mp_auth_check(mp_auth *a, const char *authorization)
{
    if (!authorization)
        return 0;
    while (*authorization == ' ')
        authorization++;
    if (strncasecmp(authorization, "Basic ", 6) != 0)
        return 0;
    const char *cred = authorization + 6;
    while (*cred == ' ')
        cred++;
    if (strlen(cred) >= MAX_HEADER)
        return 0;
    pthread_mutex_lock(&a->mu);
    int hit = 0;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        hit |= a->cache[i][0] && same(a->cache[i], cred);
    pthread_mutex_unlock(&a->mu);
    if (hit)
        return 1;

    char plain[MAX_HEADER];
    size_t plen = 0, bad = 0;
    if (mp_base64_decode(cred, strlen(cred), (uint8_t *)plain, &plen, &bad) != 0 ||
        plen >= sizeof plain || memchr(plain, '\0', plen))
        return 0;
    plain[plen] = '\0';
    char *colon = strchr(plain, ':');
    if (!colon)
        return 0;
    *colon = '\0';
    const char *pw = colon + 1;
    int ok = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->users[i].name, plain) != 0)
            continue;
        if (a->users[i].hashed) {
            struct crypt_data cd;
            memset(&cd, 0, sizeof cd);
            const char *h = crypt_r(pw, a->users[i].password, &cd);
            ok = h && h[0] != '*' && same(h, a->users[i].password);
        } else {
            ok = same(pw, a->users[i].password);
        }
        break;
    }
    if (ok) {
        pthread_mutex_lock(&a->mu);
        snprintf(a->cache[a->next_slot], MAX_HEADER, "%s", cred);
        a->next_slot = (a->next_slot + 1) % CACHE_SLOTS;
        pthread_mutex_unlock(&a->mu);
    }
    return ok;
}
