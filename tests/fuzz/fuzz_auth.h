/* SPDX-License-Identifier: MIT */
/*
 * The fixed key set and clock of the auth fuzz targets (fuzz_auth_token,
 * fuzz_auth_play), so their seed corpora verify against the same keys, and
 * the check that a refusal's message says something without leaking a secret
 * or the token. Included by one target per program: the state is its own.
 */
#ifndef KINO_FUZZ_FUZZ_AUTH_H
#define KINO_FUZZ_FUZZ_AUTH_H

#include <sodium.h>
#include <string.h>

#include "auth/auth.h"
#include "core/err.h"
#include "fuzz.h"

/* 2026-01-01T00:00:00Z: the seeds were issued around it. */
#define FUZZ_NOW 1767225600

static const char *const kids[2] = { "2025-01", "2026-01" };
static unsigned char secrets[2][AUTH_KEY_BYTES];
/* Each secret as text a careless message could leak: base64url and hex. */
static char secret_b64[2][64], secret_hex[2][2 * AUTH_KEY_BYTES + 1];
/* Both keys in each set; by_kid[i] signs with kids[i]; verifying uses by_kid[1]. */
static struct auth_keys *by_kid[2];

static void setup_keys(void)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < AUTH_KEY_BYTES; i++)
            secrets[k][i] = (unsigned char)(k ? 0x5a ^ (i * 11) : 0xa0 + i);
    for (int k = 0; k < 2; k++) {
        sodium_bin2base64(secret_b64[k], sizeof(secret_b64[k]), secrets[k], AUTH_KEY_BYTES,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_bin2hex(secret_hex[k], sizeof(secret_hex[k]), secrets[k], AUTH_KEY_BYTES);
    }
    for (int cur = 0; cur < 2; cur++) {
        by_kid[cur] = auth_keys_new();
        check(by_kid[cur] != NULL);
        for (int k = 0; k < 2; k++)
            check(auth_keys_add(by_kid[cur], kids[k], secrets[k], NULL) == 0);
        check(auth_keys_set_current(by_kid[cur], kids[cur], NULL) == 0);
        check(strcmp(auth_keys_current(by_kid[cur]), kids[cur]) == 0);
    }
}

/* A refusal is KINO_EINVAL with a non-empty message that holds no secret and not the token. */
static void check_refusal_message(int rc, const struct kino_err *err, const char *token)
{
    check(rc == KINO_EINVAL);
    check(err->code == KINO_EINVAL);
    check(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
    check(err->msg[0] != '\0');
    size_t mlen = strlen(err->msg);
    for (int k = 0; k < 2; k++) {
        check(memmem(err->msg, mlen, secrets[k], 8) == NULL);
        check(strstr(err->msg, secret_b64[k]) == NULL);
        check(strstr(err->msg, secret_hex[k]) == NULL);
    }
    /* Short inputs ("a", "token") are words of the messages themselves. */
    if (strlen(token) >= 16 && !strchr(token, ' '))
        check(strstr(err->msg, token) == NULL);
}

#endif
