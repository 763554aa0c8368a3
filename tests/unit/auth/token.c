/* SPDX-License-Identifier: MIT */
/*
 * JWT access tokens: what is issued, and every way a forged, altered, expired
 * or foreign token is refused (alg none, other algorithms, unknown kid...).
 * Forged tokens are built here by hand: base64url JSON and our own HMAC.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"

#define NOW 1700000000LL

static struct auth_keys *keys;
static struct buf tok;
static unsigned char secret_a[AUTH_KEY_BYTES];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    memset(secret_a, 0xA5, sizeof(secret_a));
    keys = auth_keys_new();
    cr_assert_eq(auth_keys_add(keys, "ka", secret_a, NULL), 0);
    buf_init(&tok, AUTH_TOKEN_MAX);
}

static void teardown(void)
{
    buf_release(&tok);
    auth_keys_free(keys);
}

TestSuite(token, .init = setup, .fini = teardown);

static void b64(struct buf *out, const void *data, size_t len)
{
    static char tmp[16384];
    sodium_bin2base64(tmp, sizeof(tmp), data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cr_assert_eq(buf_adds(out, tmp), 0);
}

/*
 * "<b64 header>.<b64 payload>.<sig>": sig is HMAC-SHA256 (bits 256) or
 * HMAC-SHA512 (512) under `key`, or empty when key is NULL. Caller releases.
 */
static struct buf craft(const char *header, const char *payload, const unsigned char *key, int bits)
{
    struct buf t = BUF_INIT(8192);
    b64(&t, header, strlen(header));
    buf_adds(&t, ".");
    b64(&t, payload, strlen(payload));
    if (key && bits == 256) {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256(mac, (const unsigned char *)t.ptr, t.len, key);
        buf_adds(&t, ".");
        b64(&t, mac, sizeof(mac));
    } else if (key && bits == 512) {
        unsigned char mac[crypto_auth_hmacsha512_BYTES];
        crypto_auth_hmacsha512(mac, (const unsigned char *)t.ptr, t.len, key);
        buf_adds(&t, ".");
        b64(&t, mac, sizeof(mac));
    } else {
        buf_adds(&t, ".");
    }
    return t;
}

static const char good_payload[] =
    "{\"sub\":\"user1\",\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700000900}";

/* Expect `token` to be refused at NOW with a message containing `why`. */
static void refused(const char *token, const char *why)
{
    struct auth_claims c;
    struct kino_err err = {0};
    memset(&c, 0x5a, sizeof(c));
    cr_assert_eq(auth_token_verify(keys, token, NOW, &c, &err), KINO_EINVAL, "accepted: %s", why);
    cr_assert(strstr(err.msg, why), "message '%s' does not say '%s'", err.msg, why);
    cr_assert_eq(((unsigned char *)&c)[0], 0x5a, "claims untouched on failure");
}

static void decode_part(const char *s, size_t len, char *out, size_t cap)
{
    size_t n;
    cr_assert_eq(sodium_base642bin((unsigned char *)out, cap - 1, s, len, NULL, &n, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                 0);
    out[n] = '\0';
}

Test(token, issued_token_verifies_with_its_claims)
{
    cr_assert_eq(
        auth_token_issue(keys, "user1", AUTH_ROLE_CREATOR, NOW, AUTH_ACCESS_TTL_S, &tok, NULL), 0);
    struct auth_claims c;
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW, &c, NULL), 0);
    cr_assert_str_eq(c.sub, "user1");
    cr_assert_eq(c.role, AUTH_ROLE_CREATOR);
    cr_assert_eq(c.iat, NOW);
    cr_assert_eq(c.exp, NOW + 900);
    cr_assert_str_eq(c.kid, "ka");

    /* The header names the algorithm and the key, as any JWT library expects. */
    char header[512];
    decode_part(tok.ptr, (size_t)(strchr(tok.ptr, '.') - tok.ptr), header, sizeof(header));
    json_t *h = json_loads(header, 0, NULL);
    cr_assert_not_null(h, "header: %s", header);
    cr_assert_str_eq(json_string_value(json_object_get(h, "alg")), "HS256");
    cr_assert_str_eq(json_string_value(json_object_get(h, "kid")), "ka");
    json_decref(h);
}

Test(token, expiry_is_exclusive_and_future_iat_is_refused)
{
    cr_assert_eq(auth_token_issue(keys, "u", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL), 0);
    struct auth_claims c;
    struct kino_err err = {0};
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW + 899, &c, NULL), 0);
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW + 900, &c, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "expired"), "%s", err.msg);
    /* A clock a minute behind is tolerated; more means the token is from the future. */
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW - AUTH_TOKEN_SKEW_S, &c, NULL), 0);
    kino_err_clear(&err);
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW - AUTH_TOKEN_SKEW_S - 1, &c, &err),
                 KINO_EINVAL);
    cr_assert(strstr(err.msg, "future"), "%s", err.msg);
}

Test(token, a_crafted_token_like_ours_verifies)
{
    /* The forging helper is right: a correctly signed hand-made token passes. */
    struct buf t =
        craft("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"ka\"}", good_payload, secret_a, 256);
    struct auth_claims c;
    cr_assert_eq(auth_token_verify(keys, t.ptr, NOW, &c, NULL), 0);
    cr_assert_str_eq(c.sub, "user1");
    buf_release(&t);
}

Test(token, tampered_payload_is_refused)
{
    cr_assert_eq(auth_token_issue(keys, "user1", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL), 0);
    /* Same header and signature, payload promoting the user to admin. */
    const char *d1 = strchr(tok.ptr, '.'), *d2 = strrchr(tok.ptr, '.');
    struct buf t = BUF_INIT(8192);
    buf_add(&t, tok.ptr, (size_t)(d1 - tok.ptr + 1));
    const char *evil =
        "{\"sub\":\"user1\",\"role\":\"admin\",\"iat\":1700000000,\"exp\":1700000900}";
    b64(&t, evil, strlen(evil));
    buf_adds(&t, d2);
    refused(t.ptr, "signature does not match");
    buf_release(&t);
}

Test(token, tampered_signature_is_refused)
{
    cr_assert_eq(auth_token_issue(keys, "user1", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL), 0);
    char *sig = strrchr(tok.ptr, '.') + 1;
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    refused(tok.ptr, "signature does not match");
    /* Cut short, or dropped entirely. */
    sig[0] = '\0';
    refused(tok.ptr, "signature is malformed");
}

Test(token, alg_none_is_refused)
{
    struct buf t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_payload, NULL, 0);
    refused(t.ptr, "not HS256");
    buf_release(&t);
    /* With our kid and a signature that would match under HS256. */
    t = craft("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"ka\"}", good_payload, secret_a, 256);
    refused(t.ptr, "not HS256");
    buf_release(&t);
    t = craft("{\"alg\":\"None\",\"kid\":\"ka\"}", good_payload, NULL, 0);
    refused(t.ptr, "not HS256");
    buf_release(&t);
    t = craft("{\"typ\":\"JWT\",\"kid\":\"ka\"}", good_payload, secret_a, 256);
    refused(t.ptr, "not HS256");
    buf_release(&t);
}

Test(token, other_algorithms_are_refused)
{
    struct buf t =
        craft("{\"alg\":\"HS512\",\"typ\":\"JWT\",\"kid\":\"ka\"}", good_payload, secret_a, 512);
    refused(t.ptr, "not HS256");
    buf_release(&t);
    t = craft("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"ka\"}", good_payload, secret_a, 256);
    refused(t.ptr, "not HS256");
    buf_release(&t);
    t = craft("{\"alg\":\"hs256\",\"kid\":\"ka\"}", good_payload, secret_a, 256);
    refused(t.ptr, "not HS256");
    buf_release(&t);
    /* A duplicate alg (one library reads the first, another the last) is not JSON we accept. */
    t = craft("{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"ka\"}", good_payload, secret_a, 256);
    refused(t.ptr, "header is not base64url JSON");
    buf_release(&t);
    t = craft("{\"alg\":\"HS256\",\"kid\":\"ka\",\"crit\":[\"exp\"]}", good_payload, secret_a, 256);
    refused(t.ptr, "critical");
    buf_release(&t);
}

Test(token, unknown_or_missing_kid_is_refused)
{
    unsigned char other[AUTH_KEY_BYTES];
    memset(other, 0x11, sizeof(other));
    struct auth_keys *stranger = auth_keys_new();
    cr_assert_eq(auth_keys_add(stranger, "kb", other, NULL), 0);
    cr_assert_eq(auth_token_issue(stranger, "user1", AUTH_ROLE_ADMIN, NOW, 900, &tok, NULL), 0);
    refused(tok.ptr, "unknown key");
    auth_keys_free(stranger);

    /* Our secret under another kid is still an unknown kid, not a match. */
    struct buf t = craft("{\"alg\":\"HS256\",\"kid\":\"kb\"}", good_payload, secret_a, 256);
    refused(t.ptr, "unknown key");
    buf_release(&t);
    t = craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", good_payload, secret_a, 256);
    refused(t.ptr, "no key id");
    buf_release(&t);
    t = craft("{\"alg\":\"HS256\",\"kid\":7}", good_payload, secret_a, 256);
    refused(t.ptr, "no key id");
    buf_release(&t);
}

Test(token, malformed_tokens_are_refused)
{
    refused("", "no access token");
    refused("abc", "malformed");
    refused("a.b", "malformed");
    refused("a.b.c.d", "malformed");
    refused(".b.c", "malformed");
    refused("a..c", "malformed");
    refused("a*b.c.d", "malformed");
    refused("eyJ hbGc.e30.AAAA", "malformed");
    refused("a/b+.c.d", "malformed");
    refused("!!!!.e30.AAAA", "malformed");
    refused("A.e30.AAAA", "header is not base64url JSON"); /* one character is not base64 */
    struct buf t = craft("not json", good_payload, secret_a, 256);
    refused(t.ptr, "header is not base64url JSON");
    buf_release(&t);
    t = craft("[\"alg\",\"HS256\"]", good_payload, secret_a, 256);
    refused(t.ptr, "header is not base64url JSON");
    buf_release(&t);
    t = craft("{\"alg\":\"HS256\",\"kid\":\"ka\"}", "not json", secret_a, 256);
    refused(t.ptr, "claims are not base64url JSON");
    buf_release(&t);
    struct auth_claims c;
    cr_assert_eq(auth_token_verify(keys, NULL, NOW, &c, NULL), KINO_EINVAL);
}

Test(token, oversized_tokens_are_refused_unread)
{
    char *big = malloc(AUTH_TOKEN_MAX + 100);
    memset(big, 'A', AUTH_TOKEN_MAX + 99);
    big[10] = '.';
    big[20] = '.';
    big[AUTH_TOKEN_MAX + 99] = '\0';
    refused(big, "longer than 4096 bytes");
    free(big);

    /* A validly signed token padded with a long claim past the cap. */
    struct buf p = BUF_INIT(8192);
    buf_adds(&p, "{\"sub\":\"user1\",\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700000900,"
                 "\"pad\":\"");
    for (int i = 0; i < 3500; i++)
        buf_adds(&p, "x");
    buf_adds(&p, "\"}");
    struct buf t = craft("{\"alg\":\"HS256\",\"kid\":\"ka\"}", p.ptr, secret_a, 256);
    cr_assert_gt(t.len, AUTH_TOKEN_MAX);
    refused(t.ptr, "longer than");
    buf_release(&t);
    buf_release(&p);
}

Test(token, claims_need_the_right_types)
{
    const char *header = "{\"alg\":\"HS256\",\"kid\":\"ka\"}";
    static const struct {
        const char *payload, *why;
    } cases[] = {
        {"{\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700000900}", "subject"},
        {"{\"sub\":\"../x\",\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700000900}", "subject"},
        {"{\"sub\":5,\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700000900}", "subject"},
        {"{\"sub\":\"u\",\"role\":\"root\",\"iat\":1700000000,\"exp\":1700000900}", "role"},
        {"{\"sub\":\"u\",\"iat\":1700000000,\"exp\":1700000900}", "role"},
        {"{\"sub\":\"u\",\"role\":\"viewer\",\"iat\":\"1700000000\",\"exp\":1700000900}",
         "integer"},
        {"{\"sub\":\"u\",\"role\":\"viewer\",\"iat\":1700000000}", "integer"},
        {"{\"sub\":\"u\",\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1.7e9}", "integer"},
        {"{\"sub\":\"u\",\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1600000000}", "before"},
        {"{\"sub\":\"u\",\"role\":\"viewer\",\"iat\":1700000000,\"exp\":1700000900,"
         "\"nbf\":1700000500}",
         "not valid yet"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf t = craft(header, cases[i].payload, secret_a, 256);
        refused(t.ptr, cases[i].why);
        buf_release(&t);
    }
}

Test(token, keys_rotate_without_breaking_issued_tokens)
{
    unsigned char secret_b[AUTH_KEY_BYTES];
    memset(secret_b, 0xB6, sizeof(secret_b));
    struct buf old = BUF_INIT(AUTH_TOKEN_MAX);
    cr_assert_eq(auth_token_issue(keys, "user1", AUTH_ROLE_VIEWER, NOW, 900, &old, NULL), 0);

    /* A new key signs from now on; tokens signed with the old one still verify. */
    cr_assert_eq(auth_keys_add(keys, "kb", secret_b, NULL), 0);
    cr_assert_str_eq(auth_keys_current(keys), "ka", "adding does not switch");
    cr_assert_eq(auth_keys_set_current(keys, "kb", NULL), 0);
    cr_assert_eq(auth_token_issue(keys, "user1", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL), 0);
    struct auth_claims c;
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW, &c, NULL), 0);
    cr_assert_str_eq(c.kid, "kb");
    cr_assert_eq(auth_token_verify(keys, old.ptr, NOW, &c, NULL), 0);
    cr_assert_str_eq(c.kid, "ka");

    /* Once the old key is removed, its tokens stop working; the new ones go on. */
    cr_assert_eq(auth_keys_remove(keys, "ka", NULL), 0);
    refused(old.ptr, "unknown key");
    cr_assert_eq(auth_token_verify(keys, tok.ptr, NOW, &c, NULL), 0);
    buf_release(&old);
}

Test(token, issue_checks_its_inputs)
{
    struct kino_err err = {0};
    cr_assert_eq(auth_token_issue(keys, "", AUTH_ROLE_VIEWER, NOW, 900, &tok, &err), KINO_EINVAL);
    cr_assert_eq(auth_token_issue(keys, "a\"b", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL),
                 KINO_EINVAL);
    cr_assert_eq(auth_token_issue(keys, "u", AUTH_ROLE_NONE, NOW, 900, &tok, NULL), KINO_EINVAL);
    cr_assert_eq(auth_token_issue(keys, "u", AUTH_ROLE_VIEWER, NOW, 0, &tok, NULL), KINO_EINVAL);
    struct auth_keys *none = auth_keys_new();
    cr_assert_eq(auth_token_issue(none, "u", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL),
                 KINO_ENOTFOUND);
    auth_keys_free(none);
    struct buf tiny = BUF_INIT(20);
    cr_assert_eq(auth_token_issue(keys, "u", AUTH_ROLE_VIEWER, NOW, 900, &tiny, NULL),
                 KINO_ETOOBIG);
    buf_release(&tiny);
}
