/* SPDX-License-Identifier: MIT */
/*
 * Roles, and the opaque secrets (refresh tokens, API keys) that clients hold
 * and the database keeps only as SHA-256 digests.
 */
#include "auth/auth_internal.h"

#include <string.h>

#include "core/banned.h"

#define SECRET_RAW 32 /* bytes of entropy: 43 base64url characters */

_Static_assert(
    AUTH_SECRET_LEN ==
        3 + sodium_base64_ENCODED_LEN(SECRET_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1,
    "AUTH_SECRET_LEN matches the encoding");
_Static_assert(AUTH_SECRET_HASH_SIZE == crypto_hash_sha256_BYTES * 2 + 1, "hex digest size");

static const char *const role_names[] = {
    [AUTH_ROLE_VIEWER] = "viewer",
    [AUTH_ROLE_CREATOR] = "creator",
    [AUTH_ROLE_ADMIN] = "admin",
};

int auth_role_parse(const char *s, enum auth_role *ret, struct kino_err *err)
{
    for (int r = AUTH_ROLE_VIEWER; r <= AUTH_ROLE_ADMIN; r++) {
        if (s && strcmp(s, role_names[r]) == 0) {
            *ret = (enum auth_role)r;
            return 0;
        }
    }
    return kino_err_set(err, KINO_EINVAL, "unknown role; use admin, creator or viewer");
}

const char *auth_role_name(enum auth_role role)
{
    if (role >= AUTH_ROLE_VIEWER && role <= AUTH_ROLE_ADMIN)
        return role_names[role];
    return "none";
}

static const char *prefix_of(enum auth_secret_kind kind)
{
    return kind == AUTH_SECRET_API_KEY ? "kk_" : "kr_";
}

int auth_secret_new(enum auth_secret_kind kind, char *out, size_t outsz)
{
    if (outsz < AUTH_SECRET_SIZE)
        return KINO_EINVAL;
    unsigned char raw[SECRET_RAW];
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, prefix_of(kind), 3);
    sodium_bin2base64(out + 3, outsz - 3, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int auth_secret_valid(const char *token, enum auth_secret_kind kind)
{
    return token && strlen(token) == AUTH_SECRET_LEN && memcmp(token, prefix_of(kind), 3) == 0 &&
           auth_name_valid(token + 3, AUTH_SECRET_LEN - 3, AUTH_SECRET_LEN, 0);
}

void auth_secret_hash(const char *token, char out[AUTH_SECRET_HASH_SIZE])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, AUTH_SECRET_HASH_SIZE, digest, sizeof(digest));
}

int auth_secret_hash_equal(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != AUTH_SECRET_HASH_SIZE - 1 ||
        strlen(b) != AUTH_SECRET_HASH_SIZE - 1)
        return 0;
    return sodium_memcmp(a, b, AUTH_SECRET_HASH_SIZE - 1) == 0;
}
