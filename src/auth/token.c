/* SPDX-License-Identifier: MIT */
/*
 * JWT access tokens (HS256, libjwt). libjwt builds and decodes them; before it
 * sees a token, this file checks what libjwt 1.10 does not insist on: the size,
 * the shape, alg exactly HS256 (so never "none"), the key id, and the
 * signature itself in constant time. Claims are read with strict types.
 */
#include "auth/auth_internal.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define HEADER_MAX 512 /* decoded header bytes; ours is ~45 */

int auth_token_issue(const struct auth_keys *keys, const char *user_id, enum auth_role role,
                     int64_t now, int ttl_s, struct buf *ret_token, struct kino_err *err)
{
    if (!auth_name_valid(user_id, user_id ? strlen(user_id) : 0, AUTH_SUBJECT_MAX, 1))
        return kino_err_set(err, KINO_EINVAL,
                            "a user id must be 1 to %d characters from A-Z a-z 0-9 . - _",
                            AUTH_SUBJECT_MAX);
    if (role < AUTH_ROLE_VIEWER || role > AUTH_ROLE_ADMIN)
        return kino_err_set(err, KINO_EINVAL, "a token needs a role (viewer, creator or admin)");
    if (ttl_s <= 0 || now < 0 || now > INT64_MAX / 2)
        return kino_err_set(err, KINO_EINVAL, "a token needs a positive lifetime and a valid time");
    const struct auth_key *key = auth_keys_signing(keys);
    if (!key)
        return kino_err_set(err, KINO_ENOTFOUND, "no signing key is configured");

    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        abort(); /* only ENOMEM */
    int rc = 0;
    if (jwt_add_header(jwt, "kid", key->kid) != 0 || jwt_add_grant(jwt, "sub", user_id) != 0 ||
        jwt_add_grant(jwt, "role", auth_role_name(role)) != 0 ||
        jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)(now + ttl_s)) != 0 ||
        jwt_set_alg(jwt, JWT_ALG_HS256, key->secret, AUTH_KEY_BYTES) != 0) {
        jwt_free(jwt);
        return kino_err_set(err, KINO_EINTERNAL, "libjwt could not build a token");
    }
    char *s = jwt_encode_str(jwt);
    jwt_free(jwt);
    if (!s)
        return kino_err_set(err, KINO_EINTERNAL, "libjwt could not sign a token");
    buf_reset(ret_token);
    if (buf_adds(ret_token, s) != 0)
        rc = kino_err_set(err, KINO_ETOOBIG, "the token does not fit in %zu bytes", ret_token->max);
    free(s);
    return rc;
}

/* Decode the unpadded base64url s[0..len) into out (at most cap bytes); -1 unless all of it is. */
static int b64_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *ret_len)
{
    const char *end = NULL;
    if (sodium_base642bin(out, cap, s, len, NULL, ret_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != s + len)
        return -1;
    return 0;
}

/* A base64url part, decoded and parsed as a JSON object; NULL when it is not one. */
static json_t *json_part(const char *s, size_t len, unsigned char *scratch, size_t cap)
{
    size_t n = 0;
    if (b64_decode(s, len, scratch, cap, &n) != 0)
        return NULL;
    json_t *j = json_loadb((const char *)scratch, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int check_header(const struct auth_keys *keys, json_t *h, const struct auth_key **ret_key,
                        struct kino_err *err)
{
    const char *alg = json_string_value(json_object_get(h, "alg"));
    if (!alg || strcmp(alg, "HS256") != 0)
        return kino_err_set(err, KINO_EINVAL,
                            "the token's algorithm is not HS256, the only one kino accepts");
    json_t *typ = json_object_get(h, "typ");
    if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        return kino_err_set(err, KINO_EINVAL, "the token's type is not JWT");
    if (json_object_get(h, "crit"))
        return kino_err_set(err, KINO_EINVAL, "the token has critical header extensions");
    json_t *kid = json_object_get(h, "kid");
    if (!json_is_string(kid))
        return kino_err_set(err, KINO_EINVAL, "the token has no key id (kid)");
    *ret_key = auth_keys_find(keys, json_string_value(kid), json_string_length(kid));
    if (!*ret_key)
        return kino_err_set(
            err, KINO_EINVAL,
            "the token was signed with an unknown key (rotated out?); log in again");
    return 0;
}

static int check_claims(json_t *c, int64_t now, struct auth_claims *out, struct kino_err *err)
{
    json_t *sub = json_object_get(c, "sub"), *role = json_object_get(c, "role");
    json_t *iat = json_object_get(c, "iat"), *exp = json_object_get(c, "exp");
    json_t *nbf = json_object_get(c, "nbf");
    if (!json_is_string(sub) ||
        !auth_name_valid(json_string_value(sub), json_string_length(sub), AUTH_SUBJECT_MAX, 1))
        return kino_err_set(err, KINO_EINVAL, "the token has no valid subject (sub)");
    if (!json_is_string(role) || auth_role_parse(json_string_value(role), &out->role, NULL) != 0)
        return kino_err_set(err, KINO_EINVAL, "the token has no valid role");
    if (!json_is_integer(iat) || !json_is_integer(exp) || (nbf && !json_is_integer(nbf)))
        return kino_err_set(err, KINO_EINVAL, "the token's iat, exp or nbf is not an integer");
    out->iat = json_integer_value(iat);
    out->exp = json_integer_value(exp);
    if (out->exp <= out->iat)
        return kino_err_set(err, KINO_EINVAL, "the token expires before it was issued");
    if (now >= out->exp)
        return kino_err_set(err, KINO_EINVAL, "the token has expired; refresh it or log in again");
    if (out->iat > now + AUTH_TOKEN_SKEW_S)
        return kino_err_set(err, KINO_EINVAL,
                            "the token was issued in the future; check the clocks");
    if (nbf && json_integer_value(nbf) > now + AUTH_TOKEN_SKEW_S)
        return kino_err_set(err, KINO_EINVAL, "the token is not valid yet (nbf)");
    memcpy(out->sub, json_string_value(sub), json_string_length(sub) + 1);
    return 0;
}

int auth_token_verify(const struct auth_keys *keys, const char *token, int64_t now,
                      struct auth_claims *ret, struct kino_err *err)
{
    size_t len = token ? strnlen(token, AUTH_TOKEN_MAX + 1) : 0;
    if (len == 0)
        return kino_err_set(err, KINO_EINVAL, "no access token");
    if (len > AUTH_TOKEN_MAX)
        return kino_err_set(err, KINO_EINVAL, "the access token is longer than %d bytes",
                            AUTH_TOKEN_MAX);
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.') || d1 == token || d2 == d1 + 1 ||
        !auth_name_valid(token, len, AUTH_TOKEN_MAX, 1))
        return kino_err_set(err, KINO_EINVAL,
                            "the access token is malformed (not three base64url parts)");

    /* Header first: it says which key, and only HS256 goes any further. */
    unsigned char scratch[AUTH_TOKEN_MAX];
    json_t *h = json_part(token, (size_t)(d1 - token), scratch, HEADER_MAX);
    if (!h)
        return kino_err_set(err, KINO_EINVAL, "the access token's header is not base64url JSON");
    const struct auth_key *key = NULL;
    int rc = check_header(keys, h, &key, err);
    json_decref(h);
    if (rc != 0)
        return rc;

    unsigned char sig[crypto_auth_hmacsha256_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    size_t n = 0;
    if (b64_decode(d2 + 1, len - (size_t)(d2 + 1 - token), sig, sizeof(sig), &n) != 0 ||
        n != sizeof(sig))
        return kino_err_set(err, KINO_EINVAL, "the access token's signature is malformed");
    crypto_auth_hmacsha256(mac, (const unsigned char *)token, (size_t)(d2 - token), key->secret);
    if (crypto_verify_32(mac, sig) != 0)
        return kino_err_set(err, KINO_EINVAL, "the access token's signature does not match");

    json_t *c = json_part(d1 + 1, (size_t)(d2 - d1 - 1), scratch, sizeof(scratch));
    if (!c)
        return kino_err_set(err, KINO_EINVAL, "the access token's claims are not base64url JSON");
    struct auth_claims out = {0};
    rc = check_claims(c, now, &out, err);
    json_decref(c);
    if (rc != 0)
        return rc;

    /* libjwt decodes and checks it again, and must agree on the algorithm. */
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, key->secret, AUTH_KEY_BYTES) != 0 ||
        jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return kino_err_set(err, KINO_EINVAL, "the access token could not be decoded");
    }
    jwt_free(jwt);
    memcpy(out.kid, key->kid, strlen(key->kid) + 1);
    *ret = out;
    return 0;
}
