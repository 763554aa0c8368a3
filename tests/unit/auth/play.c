/* SPDX-License-Identifier: MIT */
/*
 * Signed playback tokens: their shape, and refusal when tampered, expired,
 * for another media, under an unknown or removed key, or malformed. Also
 * prints (never asserts) what a verification costs.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"

#define NOW 1700000000LL
#define EXP (NOW + 3600)

static struct auth_keys *keys;
static struct buf tok;
static unsigned char secret_a[AUTH_KEY_BYTES];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    memset(secret_a, 0x3c, sizeof(secret_a));
    keys = auth_keys_new();
    cr_assert_eq(auth_keys_add(keys, "ka", secret_a, NULL), 0);
    buf_init(&tok, AUTH_PLAY_MAX);
    cr_assert_eq(auth_play_sign(keys, "Md1aBcDeFgHiJk_-", EXP, &tok, NULL), 0);
}

static void teardown(void)
{
    buf_release(&tok);
    auth_keys_free(keys);
}

TestSuite(play, .init = setup, .fini = teardown);

static void refused(const char *token, const char *media, int64_t now, const char *why)
{
    struct kino_err err = {0};
    char got[AUTH_MEDIA_ID_MAX + 1] = "untouched";
    cr_assert_eq(auth_play_verify(keys, token, media, now, got, &err), KINO_EINVAL,
                 "accepted (%s): %s", why, token ? token : "NULL");
    cr_assert(strstr(err.msg, why), "message '%s' does not say '%s'", err.msg, why);
    cr_assert_str_eq(got, "untouched");
}

Test(play, token_shape_and_round_trip)
{
    /* "<kid>.<media>.<expiry>.<43-char mac>", URL-safe: fits a path segment. */
    char want[64];
    snprintf(want, sizeof(want), "ka.Md1aBcDeFgHiJk_-.%lld.", EXP);
    cr_assert_eq(strncmp(tok.ptr, want, strlen(want)), 0, "%s", tok.ptr);
    cr_assert_eq(tok.len, strlen(want) + 43, "%s", tok.ptr);
    cr_assert_eq(strspn(tok.ptr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789-_."),
                 tok.len);

    char got[AUTH_MEDIA_ID_MAX + 1];
    cr_assert_eq(auth_play_verify(keys, tok.ptr, "Md1aBcDeFgHiJk_-", NOW, got, NULL), 0);
    cr_assert_str_eq(got, "Md1aBcDeFgHiJk_-");
    cr_assert_eq(auth_play_verify(keys, tok.ptr, NULL, NOW, got, NULL), 0, "any media");
    cr_assert_eq(auth_play_verify(keys, tok.ptr, NULL, NOW, NULL, NULL), 0);
}

Test(play, signature_with_bytes_outside_base64url_is_refused)
{
    /* libsodium 1.0.18 reads a byte >= 0x80 like its low 7 bits: without a check of the
     * alphabet, a second spelling of the same token verified (found by fuzz_auth_play). */
    size_t mac = strrchr(tok.ptr, '.') - tok.ptr + 1;
    for (size_t i = mac; i < tok.len; i++) {
        char copy[256];
        snprintf(copy, sizeof(copy), "%s", tok.ptr);
        copy[i] = (char)((unsigned char)copy[i] | 0x80);
        refused(copy, "Md1aBcDeFgHiJk_-", NOW, "malformed");
    }
}

Test(play, expired_at_the_second_it_ends)
{
    cr_assert_eq(auth_play_verify(keys, tok.ptr, NULL, EXP - 1, NULL, NULL), 0);
    refused(tok.ptr, NULL, EXP, "expired");
    refused(tok.ptr, NULL, EXP + 86400, "expired");
}

Test(play, other_media_is_refused)
{
    refused(tok.ptr, "OtherMediaId0000", NOW, "another media");
    refused(tok.ptr, "Md1aBcDeFgHiJk_", NOW, "another media"); /* a prefix */
    refused(tok.ptr, "Md1aBcDeFgHiJk_-x", NOW, "another media");
}

Test(play, tampering_is_refused)
{
    char t[AUTH_PLAY_MAX + 1];

    /* Another media id, with the MAC left as it was. */
    snprintf(t, sizeof(t), "%s", tok.ptr);
    t[3] = t[3] == 'M' ? 'N' : 'M';
    refused(t, NULL, NOW, "tampered");

    /* A later expiry. */
    snprintf(t, sizeof(t), "%s", tok.ptr);
    char *exp = strchr(strchr(t, '.') + 1, '.') + 1;
    exp[0] = exp[0] == '9' ? '8' : '9';
    refused(t, NULL, NOW, "tampered");

    /* The MAC itself. */
    snprintf(t, sizeof(t), "%s", tok.ptr);
    char *mac = strrchr(t, '.') + 1;
    mac[0] = mac[0] == 'A' ? 'B' : 'A';
    refused(t, NULL, NOW, "tampered");

    /* A MAC made with the key's raw secret (as a JWT signature is) is not valid here. */
    char msg[64];
    int n = snprintf(msg, sizeof(msg), "ka.Md1aBcDeFgHiJk_-.%lld", EXP);
    unsigned char m[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(m, (const unsigned char *)msg, (size_t)n, secret_a);
    char b64[64];
    sodium_bin2base64(b64, sizeof(b64), m, sizeof(m), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(t, sizeof(t), "%s.%s", msg, b64);
    refused(t, NULL, NOW, "tampered");
}

Test(play, unknown_kid_and_rotation)
{
    unsigned char other[AUTH_KEY_BYTES];
    memset(other, 0x77, sizeof(other));
    struct auth_keys *stranger = auth_keys_new();
    cr_assert_eq(auth_keys_add(stranger, "kx", other, NULL), 0);
    struct buf t = BUF_INIT(AUTH_PLAY_MAX);
    cr_assert_eq(auth_play_sign(stranger, "media1", EXP, &t, NULL), 0);
    refused(t.ptr, NULL, NOW, "unknown");
    /* Same kid as ours, different secret: a forgery, not an unknown key. */
    auth_keys_free(stranger);
    stranger = auth_keys_new();
    cr_assert_eq(auth_keys_add(stranger, "ka", other, NULL), 0);
    cr_assert_eq(auth_play_sign(stranger, "media1", EXP, &t, NULL), 0);
    refused(t.ptr, NULL, NOW, "tampered");
    auth_keys_free(stranger);

    /* Rotate: links signed with the old key keep playing while it is configured. */
    unsigned char secret_b[AUTH_KEY_BYTES];
    memset(secret_b, 0x4d, sizeof(secret_b));
    cr_assert_eq(auth_keys_add(keys, "kb", secret_b, NULL), 0);
    cr_assert_eq(auth_keys_set_current(keys, "kb", NULL), 0);
    cr_assert_eq(auth_play_sign(keys, "media1", EXP, &t, NULL), 0);
    cr_assert_eq(strncmp(t.ptr, "kb.", 3), 0, "%s", t.ptr);
    cr_assert_eq(auth_play_verify(keys, t.ptr, "media1", NOW, NULL, NULL), 0);
    cr_assert_eq(auth_play_verify(keys, tok.ptr, NULL, NOW, NULL, NULL), 0, "old kid");
    cr_assert_eq(auth_keys_remove(keys, "ka", NULL), 0);
    refused(tok.ptr, NULL, NOW, "unknown");
    cr_assert_eq(auth_play_verify(keys, t.ptr, "media1", NOW, NULL, NULL), 0);
    buf_release(&t);
}

Test(play, malformed_tokens_are_refused)
{
    const char *mac = strrchr(tok.ptr, '.') + 1;
    char t[512];
    static const char *const shapes[] = {
        "ka.media1.%s",              /* three parts */
        "ka.media1.1700003600.x.%s", /* five parts */
        "ka.media1.01700003600.%s",  /* leading zero */
        "ka.media1.-1700003600.%s",  /* sign */
        "ka.media1.+1700003600.%s",
        "ka.media1.170000360000.%s", /* 12 digits */
        "ka.media1..%s",
        "ka..1700003600.%s",
        ".media1.1700003600.%s",
        "ka.me/ia1.1700003600.%s",
        "ka.media%%31.1700003600.%s",
        "k!.media1.1700003600.%s",
        "ka.media1.1700003600.%.42s",  /* short MAC */
        "ka.media1.1700003600.%sA",    /* long MAC */
        "ka.media1.1700003600.%.42s=", /* padded */
        "ka.media1.1700003600.%.42s+", /* not base64url */
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        snprintf(t, sizeof(t), shapes[i], mac);
        refused(t, NULL, NOW, "malformed");
    }
    refused("", NULL, NOW, "malformed");
    refused(NULL, NULL, NOW, "malformed");
    refused("....", NULL, NOW, "malformed");

    char big[AUTH_PLAY_MAX + 40];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "ka.m.1.", 7);
    refused(big, NULL, NOW, "malformed");
}

Test(play, sign_checks_its_inputs)
{
    struct buf t = BUF_INIT(AUTH_PLAY_MAX);
    cr_assert_eq(auth_play_sign(keys, "../etc", EXP, &t, NULL), KINO_EINVAL);
    cr_assert_eq(auth_play_sign(keys, "", EXP, &t, NULL), KINO_EINVAL);
    cr_assert_eq(auth_play_sign(keys, "a.b", EXP, &t, NULL), KINO_EINVAL);
    cr_assert_eq(auth_play_sign(keys, "m", -1, &t, NULL), KINO_EINVAL);
    char longest[AUTH_MEDIA_ID_MAX + 1];
    memset(longest, 'm', AUTH_MEDIA_ID_MAX);
    longest[AUTH_MEDIA_ID_MAX] = '\0';
    cr_assert_eq(auth_play_sign(keys, longest, 99999999999LL, &t, NULL), 0);
    cr_assert_leq(t.len, AUTH_PLAY_MAX, "the longest token fits the cap");
    cr_assert_eq(auth_play_verify(keys, t.ptr, longest, NOW, NULL, NULL), 0);
    struct auth_keys *none = auth_keys_new();
    cr_assert_eq(auth_play_sign(none, "m", EXP, &t, NULL), KINO_ENOTFOUND);
    auth_keys_free(none);
    buf_release(&t);
}

Test(play, default_ttl)
{
    cr_assert_eq(auth_play_default_ttl(0), 3600);
    cr_assert_eq(auth_play_default_ttl(10.5), 3600);
    cr_assert_eq(auth_play_default_ttl(1800), 3600);
    cr_assert_eq(auth_play_default_ttl(1800.2), 3601);
    cr_assert_eq(auth_play_default_ttl(7200), 14400);
    cr_assert_eq(auth_play_default_ttl(-5), 3600);
    cr_assert_eq(auth_play_default_ttl(NAN), 3600);
}

/* Information only: what one verification costs on this machine (and build). */
Test(play, verify_cost_is_printed)
{
    enum { N = 100000 };
    struct timespec a, b;
    int ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < N; i++)
        ok += auth_play_verify(keys, tok.ptr, "Md1aBcDeFgHiJk_-", NOW, NULL, NULL) == 0;
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert_eq(ok, N);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / N;
    fprintf(stderr, "auth_play_verify: %.3f us per verification (%d runs)\n", us, N);
}
