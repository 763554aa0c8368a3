/* SPDX-License-Identifier: MIT */
/*
 * What the files of the auth module share and nothing else sees: the layout
 * of struct auth_keys, key lookup, and the character classes of ids.
 */
#ifndef KINO_AUTH_AUTH_INTERNAL_H
#define KINO_AUTH_AUTH_INTERNAL_H

#include <sodium.h>

#include "auth/auth.h"

struct auth_key {
    char kid[AUTH_KID_MAX + 1];
    unsigned char secret[AUTH_KEY_BYTES];                    /* the HS256 key of JWTs */
    unsigned char play_key[crypto_auth_hmacsha256_KEYBYTES]; /* derived, for playback tokens */
    /* HMAC state after absorbing play_key: copying it saves two of four SHA-256 blocks. */
    crypto_auth_hmacsha256_state play_state;
};

/* `slots` is sodium_malloc'd (guard pages, locked, wiped on free). */
struct auth_keys {
    struct auth_key *slots; /* AUTH_KEYS_MAX of them, `count` used */
    size_t count;
    size_t current; /* index of the signing key, valid when count > 0 */
};

/* The key with id kid[0..len), or NULL. Key ids are not secret: a plain compare is fine. */
const struct auth_key *auth_keys_find(const struct auth_keys *keys, const char *kid, size_t len);

/* The current key, or NULL when there is none. */
const struct auth_key *auth_keys_signing(const struct auth_keys *keys);

/* 1 when s[0..len) is 1..max characters from [A-Za-z0-9_-] (plus '.' when `dot`). */
int auth_name_valid(const char *s, size_t len, size_t max, int dot);

#endif
