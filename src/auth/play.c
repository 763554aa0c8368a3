/* SPDX-License-Identifier: MIT */
/*
 * Signed playback tokens, "<kid>.<media id>.<expires-at>.<mac>" (see auth.h).
 * Verification runs on every segment request: it allocates nothing, touches
 * no database, and costs one HMAC-SHA256 over ~40 bytes.
 */
#include "auth/auth_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/banned.h"

#define EXPIRY_DIGITS 11 /* up to 99999999999 s, the year 5138: plenty, and no overflow */
#define MAC_B64_LEN   43 /* unpadded base64url of 32 bytes */

/* HMAC-SHA256 of msg[0..len) under the key's playback key, from its precomputed state. */
static void play_mac(const struct auth_key *key, const char *msg, size_t len,
                     unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st = key->play_state;
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

int auth_play_sign(const struct auth_keys *keys, const char *media_id, int64_t expires_at,
                   struct buf *ret, struct kino_err *err)
{
    if (!auth_name_valid(media_id, media_id ? strlen(media_id) : 0, AUTH_MEDIA_ID_MAX, 0))
        return kino_err_set(err, KINO_EINVAL,
                            "a media id must be 1 to %d characters from A-Z a-z 0-9 - _",
                            AUTH_MEDIA_ID_MAX);
    if (expires_at < 0 || expires_at > 99999999999LL)
        return kino_err_set(err, KINO_EINVAL, "a playback token's expiry is out of range");
    const struct auth_key *key = auth_keys_signing(keys);
    if (!key)
        return kino_err_set(err, KINO_ENOTFOUND, "no signing key is configured");

    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char b64[MAC_B64_LEN + 1];
    buf_reset(ret);
    int rc = buf_addf(ret, "%s.%s.%lld", key->kid, media_id, (long long)expires_at);
    if (rc == 0) {
        play_mac(key, ret->ptr, ret->len, mac);
        sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        rc = buf_addf(ret, ".%s", b64);
    }
    if (rc != 0) {
        buf_reset(ret);
        return kino_err_set(err, KINO_ETOOBIG, "the playback token does not fit in %zu bytes",
                            ret->max);
    }
    return 0;
}

/* Decimal digits s[0..len) in canonical form (no sign, no leading zero); -1 otherwise. */
static int64_t parse_expiry(const char *s, size_t len)
{
    if (len == 0 || len > EXPIRY_DIGITS || (len > 1 && s[0] == '0'))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int auth_play_verify(const struct auth_keys *keys, const char *token, const char *media_id,
                     int64_t now, char ret_media_id[AUTH_MEDIA_ID_MAX + 1], struct kino_err *err)
{
    size_t len = token ? strnlen(token, AUTH_PLAY_MAX + 1) : 0;
    if (len == 0 || len > AUTH_PLAY_MAX)
        return kino_err_set(err, KINO_EINVAL, "the playback token is malformed");
    const char *kid = token;
    const char *media = memchr(kid, '.', len);
    const char *exp = media ? memchr(media + 1, '.', len - (size_t)(media + 1 - token)) : NULL;
    const char *mac = exp ? memchr(exp + 1, '.', len - (size_t)(exp + 1 - token)) : NULL;
    if (!mac)
        return kino_err_set(err, KINO_EINVAL, "the playback token is malformed");
    media++, exp++, mac++;
    size_t kid_len = (size_t)(media - 1 - kid), media_len = (size_t)(exp - 1 - media);
    size_t exp_len = (size_t)(mac - 1 - exp), mac_len = len - (size_t)(mac - token);
    int64_t expires_at = parse_expiry(exp, exp_len);
    unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t n = 0;
    const char *end = NULL;
    if (!auth_name_valid(kid, kid_len, AUTH_KID_MAX, 0) ||
        !auth_name_valid(media, media_len, AUTH_MEDIA_ID_MAX, 0) || expires_at < 0 ||
        /* The alphabet first: libsodium 1.0.18's decoder reads a byte >= 0x80 like its low
         * 7 bits, which would let a second spelling of a token verify. */
        mac_len != MAC_B64_LEN || !auth_name_valid(mac, mac_len, MAC_B64_LEN, 0) ||
        sodium_base642bin(got, sizeof(got), mac, mac_len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != mac + mac_len || n != sizeof(got))
        return kino_err_set(err, KINO_EINVAL, "the playback token is malformed");

    const struct auth_key *key = auth_keys_find(keys, kid, kid_len);
    if (!key)
        return kino_err_set(
            err, KINO_EINVAL,
            "the playback token's key is unknown (rotated out?)");
    play_mac(key, token, (size_t)(mac - 1 - token), want);
    if (crypto_verify_32(want, got) != 0)
        return kino_err_set(err, KINO_EINVAL, "the playback token has been tampered with");
    if (media_id && (strlen(media_id) != media_len || memcmp(media_id, media, media_len) != 0))
        return kino_err_set(err, KINO_EINVAL, "the playback token is for another media");
    if (now >= expires_at)
        return kino_err_set(err, KINO_EINVAL, "the playback token has expired");
    if (ret_media_id) {
        memcpy(ret_media_id, media, media_len);
        ret_media_id[media_len] = '\0';
    }
    return 0;
}

int64_t auth_play_default_ttl(double duration_s)
{
    if (!(duration_s > 1800.0)) /* also NaN */
        return 3600;
    if (duration_s > 1e10)
        return (int64_t)2e10;
    return (int64_t)ceil(2.0 * duration_s);
}
