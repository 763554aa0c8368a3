/* SPDX-License-Identifier: MIT */
/* Refresh tokens and API keys (shape, randomness, stored digest) and roles. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "auth/auth.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Test(secret, format_prefix_and_entropy)
{
    cr_assert(sodium_init() >= 0);
    char a[AUTH_SECRET_SIZE], b[AUTH_SECRET_SIZE], k[AUTH_SECRET_SIZE];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_REFRESH, a, sizeof(a)), 0);
    cr_assert_eq(auth_secret_new(AUTH_SECRET_REFRESH, b, sizeof(b)), 0);
    cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, k, sizeof(k)), 0);
    cr_assert_eq(strlen(a), AUTH_SECRET_LEN);
    cr_assert_eq(strncmp(a, "kr_", 3), 0, "%s", a);
    cr_assert_eq(strncmp(k, "kk_", 3), 0, "%s", k);
    cr_assert_eq(strspn(a + 3, b64url), 43, "URL-safe: %s", a);
    cr_assert_str_neq(a, b);

    /* 43 characters carry the 32 random bytes back. */
    unsigned char raw[64];
    size_t n;
    cr_assert_eq(sodium_base642bin(raw, sizeof(raw), a + 3, 43, NULL, &n, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                 0);
    cr_assert_eq(n, 32);

    cr_assert(auth_secret_valid(a, AUTH_SECRET_REFRESH));
    cr_assert(auth_secret_valid(k, AUTH_SECRET_API_KEY));
    cr_assert_not(auth_secret_valid(a, AUTH_SECRET_API_KEY), "the wrong kind");
    cr_assert_not(auth_secret_valid(k, AUTH_SECRET_REFRESH));
    cr_assert_not(auth_secret_valid("kr_short", AUTH_SECRET_REFRESH));
    cr_assert_not(auth_secret_valid(NULL, AUTH_SECRET_REFRESH));
    a[10] = '/';
    cr_assert_not(auth_secret_valid(a, AUTH_SECRET_REFRESH));

    char small[AUTH_SECRET_LEN];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_REFRESH, small, sizeof(small)), KINO_EINVAL);
}

Test(secret, digest_is_sha256_hex_and_compares)
{
    char d[AUTH_SECRET_HASH_SIZE], e[AUTH_SECRET_HASH_SIZE];
    auth_secret_hash("abc", d);
    cr_assert_str_eq(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    char t[AUTH_SECRET_SIZE];
    cr_assert_eq(auth_secret_new(AUTH_SECRET_API_KEY, t, sizeof(t)), 0);
    auth_secret_hash(t, d);
    auth_secret_hash(t, e);
    cr_assert(auth_secret_hash_equal(d, e), "deterministic, so it can be looked up");
    cr_assert_null(strstr(d, t + 3));
    t[5] ^= 1;
    auth_secret_hash(t, e);
    cr_assert_not(auth_secret_hash_equal(d, e));
    cr_assert_not(auth_secret_hash_equal(d, "abc"));
    cr_assert_not(auth_secret_hash_equal(d, NULL));
}

Test(roles, parse_and_name)
{
    enum auth_role r;
    struct kino_err err = {0};
    cr_assert_eq(auth_role_parse("admin", &r, NULL), 0);
    cr_assert_eq(r, AUTH_ROLE_ADMIN);
    cr_assert_eq(auth_role_parse("creator", &r, NULL), 0);
    cr_assert_eq(r, AUTH_ROLE_CREATOR);
    cr_assert_eq(auth_role_parse("viewer", &r, NULL), 0);
    cr_assert_eq(r, AUTH_ROLE_VIEWER);
    cr_assert_eq(auth_role_parse("Admin", &r, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "admin, creator or viewer"), "%s", err.msg);
    cr_assert_eq(auth_role_parse("none", &r, NULL), KINO_EINVAL);
    cr_assert_eq(auth_role_parse("", &r, NULL), KINO_EINVAL);
    cr_assert_eq(auth_role_parse(NULL, &r, NULL), KINO_EINVAL);
    cr_assert_str_eq(auth_role_name(AUTH_ROLE_ADMIN), "admin");
    cr_assert_str_eq(auth_role_name(AUTH_ROLE_CREATOR), "creator");
    cr_assert_str_eq(auth_role_name(AUTH_ROLE_VIEWER), "viewer");
    cr_assert_str_eq(auth_role_name(AUTH_ROLE_NONE), "none");
    cr_assert_str_eq(auth_role_name((enum auth_role)42), "none");
    cr_assert(AUTH_ROLE_ADMIN > AUTH_ROLE_CREATOR && AUTH_ROLE_CREATOR > AUTH_ROLE_VIEWER &&
              AUTH_ROLE_VIEWER > AUTH_ROLE_NONE);
}
