/* HTTP Basic authentication against a users file, in the format of the
 * property-file login module ksqlDB's basic authentication uses:
 *
 *     # comment
 *     alice: CRYPT:$6$saltsalt$...hash...,admin
 *     bob: plain-password,user
 *
 * One user per line: name, ':', the password, then optional ','-separated
 * roles (read and ignored: every user may use every endpoint). A password
 * written "CRYPT:<hash>" is checked with crypt(3) (any scheme glibc's
 * libcrypt knows: "$6$" SHA-512 from `openssl passwd -6`, "$y$" yescrypt
 * from mkpasswd); anything else is compared as plain text. Successful
 * credentials are remembered (a few dozen), so a client sending the same
 * header on every request pays for the hash once. */
#ifndef MP_SERVER_AUTH_H
#define MP_SERVER_AUTH_H

#include "core/error.h"

typedef struct mp_auth mp_auth;

/* Errors name the file and line ("users.txt:3: expected 'name: password'"). */
int mp_auth_load(const char *path, mp_auth **out, mp_error *e);
/* 1 when the Authorization header value carries a known user's password. */
int mp_auth_check(mp_auth *a, const char *authorization);
void mp_auth_free(mp_auth *a);

#endif
