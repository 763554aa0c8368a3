/* SPDX-License-Identifier: MIT */
/*
 * Playback token verification (auth/auth.h auth_play_verify), run on every
 * /play/<token>/... request.
 *
 * Input: line 1 is the expected media id (empty: NULL, any media); the rest,
 * up to a NUL, is the token. Same fixed key set and `now` as fuzz_auth_token.
 * Checked with abort(): success gives the token's own media id, a valid media
 * id (1..AUTH_MEDIA_ID_MAX of [A-Za-z0-9_-]) equal to the expected one when
 * given, and re-signing that media and expiry with the same key gives the very
 * same token (no second spelling verifies), which verifies identically; failure
 * is KINO_EINVAL with a message that never contains a key secret nor the
 * token. The path allocates nothing: ASan sees any stray access.
 */
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

/* 1 when s is 1..AUTH_MEDIA_ID_MAX characters from [A-Za-z0-9_-]. */
static int media_id_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > AUTH_MEDIA_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* A verified token: "<kid>.<media>.<expires-at>.<mac>" with the media id verify returned. */
static void check_accepted(const char *token, const char *expected, const char *media)
{
    check(memchr(media, '\0', AUTH_MEDIA_ID_MAX + 1) != NULL);
    check(media_id_valid(media));
    if (expected)
        check(strcmp(media, expected) == 0);

    const char *d1 = strchr(token, '.');
    check(d1 != NULL);
    size_t kid_len = (size_t)(d1 - token);
    int signer = -1;
    for (int k = 0; k < 2; k++)
        if (strlen(kids[k]) == kid_len && memcmp(token, kids[k], kid_len) == 0)
            signer = k;
    check(signer >= 0);
    size_t mlen = strlen(media);
    check(strncmp(d1 + 1, media, mlen) == 0 && d1[1 + mlen] == '.');
    const char *e = d1 + 2 + mlen;
    int64_t expires_at = 0;
    for (; *e >= '0' && *e <= '9'; e++) {
        check(expires_at <= (INT64_MAX - 9) / 10);
        expires_at = expires_at * 10 + (*e - '0');
    }
    check(*e == '.');
    check(expires_at > FUZZ_NOW);

    struct buf again = BUF_INIT(AUTH_PLAY_MAX);
    struct kino_err err = { 0 };
    check(auth_play_sign(by_kid[signer], media, expires_at, &again, &err) == 0);
    check(strcmp(again.ptr, token) == 0);
    char media2[AUTH_MEDIA_ID_MAX + 1];
    memset(media2, 'x', sizeof(media2));
    check(auth_play_verify(by_kid[1], again.ptr, expected, FUZZ_NOW, media2, &err) == 0);
    check(strcmp(media2, media) == 0);
    /* Same answer with the other key current, and with the media id named explicitly. */
    check(auth_play_verify(by_kid[0], again.ptr, media, FUZZ_NOW, NULL, NULL) == 0);
    buf_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setup_keys();
        ready = 1;
    }
    const uint8_t *lf = memchr(data, '\n', size);
    size_t line_len = lf ? (size_t)(lf - data) : size;
    size_t off = lf ? line_len + 1 : size;
    size_t tlen = size - off;
    /* Each exactly sized, so that a read past the terminating NUL is an ASan report. */
    char *expected = NULL;
    if (line_len) {
        expected = malloc(line_len + 1);
        check(expected != NULL);
        memcpy(expected, data, line_len);
        expected[line_len] = '\0';
    }
    char *token = malloc(tlen + 1);
    check(token != NULL);
    if (tlen)
        memcpy(token, data + off, tlen);
    token[tlen] = '\0';

    char media[AUTH_MEDIA_ID_MAX + 1];
    memset(media, 'x', sizeof(media));
    struct kino_err err = { 0 };
    int rc = auth_play_verify(by_kid[1], token, expected, FUZZ_NOW, media, &err);
    if (rc == 0) {
        check(err.code == 0);
        check_accepted(token, expected, media);
    } else {
        check_refusal_message(rc, &err, token);
    }
    /* Without a place for the media id the answer is the same. */
    check(auth_play_verify(by_kid[1], token, expected, FUZZ_NOW, NULL, NULL) == rc);
    free(token);
    free(expected);
    return 0;
}
