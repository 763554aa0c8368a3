/* SPDX-License-Identifier: MIT */
/*
 * JWT access token verification (auth/auth.h auth_token_verify).
 *
 * Input: the token, up to the first NUL. Verified against a fixed key set (two
 * key ids, "2026-01" current, "2025-01" still accepted) at a fixed `now`.
 * Checked with abort(): success gives sane claims (sub a valid user id, a
 * real role, iat < exp, now < exp, a known kid), and re-issuing those claims
 * with the same key verifies to the same claims; failure is KINO_EINVAL with a
 * message that never contains a key secret (raw, hex or base64url) nor the
 * token, and leaves the claims untouched.
 */
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/buf.h"
#include "core/err.h"
#include "fuzz_auth.h"
#include "core/banned.h"

/* 1 when s is 1..AUTH_SUBJECT_MAX characters from [A-Za-z0-9._-]. */
static int subject_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > AUTH_SUBJECT_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int claims_equal(const struct auth_claims *a, const struct auth_claims *b)
{
    return strcmp(a->sub, b->sub) == 0 && a->role == b->role && a->iat == b->iat &&
           a->exp == b->exp && strcmp(a->kid, b->kid) == 0;
}

static void check_refusal(int rc, const struct kino_err *err, const char *token,
                          const struct auth_claims *claims, const struct auth_claims *before)
{
    check_refusal_message(rc, err, token);
    check(memcmp(claims, before, sizeof(*claims)) == 0); /* untouched on failure */
}

static void check_claims(const struct auth_claims *c)
{
    check(memchr(c->sub, '\0', sizeof(c->sub)) != NULL);
    check(subject_valid(c->sub));
    check(c->role >= AUTH_ROLE_VIEWER && c->role <= AUTH_ROLE_ADMIN);
    check(c->exp > c->iat);
    check(FUZZ_NOW < c->exp);
    check(c->iat <= (int64_t)FUZZ_NOW + AUTH_TOKEN_SKEW_S);
    check(memchr(c->kid, '\0', sizeof(c->kid)) != NULL);
    check(strcmp(c->kid, kids[0]) == 0 || strcmp(c->kid, kids[1]) == 0);
}

/* Issue a token for the same claims with the same key: it must verify to the same claims. */
static void check_reissue(const struct auth_claims *c)
{
    int signer = strcmp(c->kid, kids[1]) == 0;
    struct buf tok;
    buf_init(&tok, AUTH_TOKEN_MAX);
    struct kino_err err = { 0 };
    if (c->iat < 0 || c->iat > INT64_MAX / 2) {
        /* Claims the issuer cannot make (a token signed elsewhere): refused, not mangled. */
        check(auth_token_issue(by_kid[signer], c->sub, c->role, c->iat, 1, &tok, &err) ==
              KINO_EINVAL);
        buf_release(&tok);
        return;
    }
    if (c->exp - c->iat > INT_MAX) { /* a lifetime an int ttl cannot say: nothing to compare */
        buf_release(&tok);
        return;
    }
    int rc = auth_token_issue(by_kid[signer], c->sub, c->role, c->iat, (int)(c->exp - c->iat),
                              &tok, &err);
    check(rc == 0);
    check(tok.len > 0 && tok.len <= AUTH_TOKEN_MAX);
    struct auth_claims again;
    memset(&again, 0xa5, sizeof(again));
    kino_err_clear(&err);
    check(auth_token_verify(by_kid[1], tok.ptr, FUZZ_NOW, &again, &err) == 0);
    check(claims_equal(c, &again));
    buf_release(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup_keys();
        ready = 1;
    }
    /* Exactly sized, so that a read past the terminating NUL is an ASan report. */
    char *token = malloc(size + 1);
    check(token != NULL);
    if (size)
        memcpy(token, data, size);
    token[size] = '\0';

    struct auth_claims claims, before;
    memset(&claims, 0xa5, sizeof(claims));
    before = claims;
    struct kino_err err = { 0 };
    int rc = auth_token_verify(by_kid[1], token, FUZZ_NOW, &claims, &err);
    if (rc == 0) {
        check(err.code == 0);
        check_claims(&claims);
        check_reissue(&claims);
        /* The old-key set verifies the same way: which key is current does not matter. */
        struct auth_claims other;
        check(auth_token_verify(by_kid[0], token, FUZZ_NOW, &other, NULL) == 0);
        check(claims_equal(&claims, &other));
    } else {
        check_refusal(rc, &err, token, &claims, &before);
    }
    free(token);
    return 0;
}
