/* SPDX-License-Identifier: MIT */
/*
 * Authentication primitives: password hashing (Argon2id), signing keys with
 * key ids so they can rotate, JWT access tokens (HS256), opaque refresh tokens
 * and API keys (stored as SHA-256 digests), signed playback tokens for
 * /play/<token>/... URLs, and roles. No I/O except the key file, no database,
 * no logging: the flows that use these (login, refresh, API keys, playback)
 * live in model/ and api/ (docs/internals/auth.md).
 *
 * The only module that includes jwt.h (libjwt); no libjwt or libsodium type
 * appears here.
 * Errors: every refused password, token or secret is KINO_EINVAL with a
 * message that says what is wrong with it, and never contains the password,
 * the secret or the token itself.
 * Threading: everything may be called from any thread. struct auth_keys is
 * read-only once loaded: build it at start-up, then share it; the functions
 * that change it (auth_keys_add, _remove, _set_current, _load_or_create) must
 * not run while another thread uses the same keys.
 */
#ifndef KINO_AUTH_AUTH_H
#define KINO_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* ---- roles ------------------------------------------------------------- */

/*
 * Ordered: a higher role may do everything a lower one may, so
 * `role >= AUTH_ROLE_CREATOR` reads "may upload". AUTH_ROLE_NONE is "no role"
 * (an anonymous caller), never stored or put in a token.
 */
enum auth_role {
    AUTH_ROLE_NONE = 0,
    AUTH_ROLE_VIEWER = 1,
    AUTH_ROLE_CREATOR = 2,
    AUTH_ROLE_ADMIN = 3,
};

/* "admin", "creator", "viewer" (exact, lower case) → *ret; 0 or KINO_EINVAL. */
int auth_role_parse(const char *s, enum auth_role *ret, struct kino_err *err);

/* "admin", "creator", "viewer", "none" for AUTH_ROLE_NONE or an unknown value; never NULL. */
const char *auth_role_name(enum auth_role role);

/* ---- passwords --------------------------------------------------------- */

#define AUTH_HASH_MAX     128  /* an encoded Argon2id hash, NUL included */
#define AUTH_PASSWORD_MIN 8    /* characters (UTF-8 code points) */
#define AUTH_PASSWORD_MAX 1024 /* bytes */

/*
 * Argon2id cost. auth_config_default() gives libsodium's "interactive" limits
 * (2 passes over 64 MiB, ~70 ms of one core); auth_config_fastest() the minimum ones, for
 * tests only: hashes made with them are cheap to crack.
 */
struct auth_config {
    unsigned long long pw_opslimit;
    size_t pw_memlimit;
};

void auth_config_default(struct auth_config *cfg);
void auth_config_fastest(struct auth_config *cfg);

/*
 * The password hasher: the Argon2id cost, a dummy hash made once with that cost
 * (so that a login for an unknown email can cost what a wrong password costs),
 * and a count of verifications. Caller frees with auth_passwords_free (accepts
 * NULL). Thread-safe; the counter is atomic.
 */
struct auth_passwords;

/* Making the dummy hash takes one hash's time. KINO_ECONFIG when the limits are out of range. */
int auth_passwords_new(const struct auth_config *cfg, struct auth_passwords **ret,
                       struct kino_err *err);
void auth_passwords_free(struct auth_passwords *pw);

/*
 * Check a new password against the policy: at least AUTH_PASSWORD_MIN
 * characters, at most AUTH_PASSWORD_MAX bytes. 0 or KINO_EINVAL with a message
 * a user can act on. auth_password_hash calls it; call it directly to answer
 * before doing any work.
 */
int auth_password_check_policy(const char *password, struct kino_err *err);

/*
 * Hash `password` (checked with auth_password_check_policy first) into `out`,
 * a NUL-terminated "$argon2id$..." string with its own salt and cost: store it
 * as is. KINO_EINVAL (policy) or KINO_EINTERNAL (Argon2 could not allocate).
 */
int auth_password_hash(const struct auth_passwords *pw, const char *password,
                       char out[AUTH_HASH_MAX], struct kino_err *err);

/*
 * Verify `password` against a stored `hash`; counts one verification.
 * 0 when it matches; KINO_EINVAL when it does not, when the hash is not an
 * Argon2 hash, or when the password is longer than AUTH_PASSWORD_MAX (not
 * hashed, so not counted: the same happens for an unknown account).
 * The message never says which, and never contains the password.
 */
int auth_password_verify(struct auth_passwords *pw, const char *hash, const char *password,
                         struct kino_err *err);

/*
 * For a login whose account does not exist (or is disabled): verify `password`
 * against the dummy hash, so the answer costs the same as a wrong password.
 * Counts one verification; always KINO_EINVAL.
 */
int auth_password_verify_dummy(struct auth_passwords *pw, const char *password,
                               struct kino_err *err);

/* Verifications so far (auth_password_verify and _verify_dummy), for tests and metrics. */
uint64_t auth_password_verifications(const struct auth_passwords *pw);

/* 1 when `hash` was made with another cost than `pw`'s (rehash it after a good login), else 0. */
int auth_password_needs_rehash(const struct auth_passwords *pw, const char *hash);

/* ---- keys -------------------------------------------------------------- */

#define AUTH_KEY_BYTES 32 /* an HMAC-SHA256 secret */
#define AUTH_KID_MAX   32 /* characters of a key id, from [A-Za-z0-9_-] */
#define AUTH_KEYS_MAX  8  /* keys held at once (current + those still accepted) */

/*
 * A set of (key id, 32-byte secret) pairs, one of them current: new tokens are
 * signed with the current key; tokens signed with any key in the set verify.
 * Rotating is: add a new key, make it current, and remove the old one once
 * the longest-lived token signed with it has expired. Secrets are kept in
 * memory locked against swapping where possible and wiped on free.
 * Caller frees with auth_keys_free (accepts NULL).
 */
struct auth_keys;

struct auth_keys *auth_keys_new(void);
void auth_keys_free(struct auth_keys *keys);

/*
 * Add a key. The first key added becomes current. KINO_EINVAL for a key id
 * that is empty, too long or has other characters; KINO_ECONFLICT when the
 * key id is already there; KINO_ETOOBIG past AUTH_KEYS_MAX keys.
 */
int auth_keys_add(struct auth_keys *keys, const char *kid,
                  const unsigned char secret[AUTH_KEY_BYTES], struct kino_err *err);

/* Same, with the secret as unpadded base64url text (43 characters), as in configuration. */
int auth_keys_add_encoded(struct auth_keys *keys, const char *kid, const char *secret_b64,
                          struct kino_err *err);

/*
 * Add the keys of a configuration value: "<kid>:<secret>[,<kid>:<secret>...]",
 * secrets as in auth_keys_add_encoded, spaces around items allowed. The
 * first key of the list becomes current when the set had no key. On any
 * error (KINO_ECONFIG, with the item's position and what is wrong, never the
 * secret) nothing is added.
 */
int auth_keys_add_list(struct auth_keys *keys, const char *list, struct kino_err *err);

/* Make `kid` the signing key. KINO_ENOTFOUND when there is no such key. */
int auth_keys_set_current(struct auth_keys *keys, const char *kid, struct kino_err *err);

/* Remove `kid`: tokens signed with it stop verifying. KINO_ENOTFOUND; KINO_ECONFLICT for the
 * current key. */
int auth_keys_remove(struct auth_keys *keys, const char *kid, struct kino_err *err);

/* The current key id (borrowed until the keys change or are freed), or NULL when there is no key.
 */
const char *auth_keys_current(const struct auth_keys *keys);

/* Number of keys held. */
size_t auth_keys_count(const struct auth_keys *keys);

/*
 * Add the keys kept in the file `path` (the data directory's "auth.key"),
 * creating it first with one new random key and a random key id when it does
 * not exist. The file is made with mode 0600 and atomically (two processes
 * starting at once end up with the same key); one key per line,
 * "<kid> <base64url secret>", the first line current, '#' comments allowed.
 * An existing file readable by group or others is refused (KINO_ECONFIG: the
 * message says to chmod 600), as is a malformed one. -errno for I/O errors.
 * *ret_created (may be NULL) is set to 1 when the file was created.
 */
int auth_keys_load_or_create(struct auth_keys *keys, const char *path, int *ret_created,
                             struct kino_err *err);

/* ---- access tokens (JWT) ----------------------------------------------- */

#define AUTH_TOKEN_MAX    4096 /* bytes; longer tokens are refused unread */
#define AUTH_TOKEN_SKEW_S 60   /* clock skew tolerated on iat / nbf */
#define AUTH_SUBJECT_MAX  64   /* characters of a user id, from [A-Za-z0-9._-] */
#define AUTH_ACCESS_TTL_S 900  /* the default access token life: 15 minutes */

/* What a verified access token says. */
struct auth_claims {
    char sub[AUTH_SUBJECT_MAX + 1]; /* the user id */
    enum auth_role role;            /* the role when the token was issued */
    int64_t iat;                    /* issued at, seconds since the epoch */
    int64_t exp;                    /* expires at (exclusive) */
    char kid[AUTH_KID_MAX + 1];     /* the key that signed it */
};

/*
 * Issue a JWT signed with the current key: header {"alg":"HS256","typ":"JWT",
 * "kid":...}, claims {"sub","role","iat","exp"} with exp = now + ttl_s.
 * `now` in seconds since the epoch (the caller's clock, so tests control it).
 * The token replaces the contents of `ret_token` (cap at least AUTH_TOKEN_MAX).
 * KINO_EINVAL for a bad user id, role or ttl; KINO_ENOTFOUND when there is no key.
 */
int auth_token_issue(const struct auth_keys *keys, const char *user_id, enum auth_role role,
                     int64_t now, int ttl_s, struct buf *ret_token, struct kino_err *err);

/*
 * Verify an access token at time `now` and fill *ret. KINO_EINVAL when it is
 * too long, not three base64url parts, has an `alg` other than HS256 (none,
 * HS512, RS256...), a `crit` header, an unknown or missing kid, a signature
 * that does not match (checked in constant time), is expired (now >= exp),
 * issued more than AUTH_TOKEN_SKEW_S in the future, not yet valid (nbf), or
 * lacks a claim. The message says which, never the token. *ret is untouched on
 * failure. Does not look at the database: whether the user still exists and is
 * enabled is the caller's check.
 */
int auth_token_verify(const struct auth_keys *keys, const char *token, int64_t now,
                      struct auth_claims *ret, struct kino_err *err);

/* ---- refresh tokens and API keys --------------------------------------- */

/*
 * Opaque secrets handed to a client once and stored only as a digest:
 * "<prefix><43 base64url characters>" carrying 32 random bytes (256 bits).
 * The prefix says what it is, so a leaked one is recognisable (secret scanners)
 * and the wrong kind is refused before any lookup.
 */
enum auth_secret_kind {
    AUTH_SECRET_REFRESH, /* "kr_" */
    AUTH_SECRET_API_KEY, /* "kk_" */
};

#define AUTH_SECRET_LEN       46 /* prefix (3) + 43 */
#define AUTH_SECRET_SIZE      (AUTH_SECRET_LEN + 1)
#define AUTH_SECRET_HASH_SIZE 65 /* 64 lower-case hex digits + NUL */

/* Make a new secret of `kind` in `out` (outsz >= AUTH_SECRET_SIZE). 0 or KINO_EINVAL (outsz). */
int auth_secret_new(enum auth_secret_kind kind, char *out, size_t outsz);

/* 1 when `token` has the shape of a secret of `kind` (prefix, length, alphabet), else 0. */
int auth_secret_valid(const char *token, enum auth_secret_kind kind);

/*
 * The digest to store and to look a secret up by: SHA-256 of the whole token,
 * in lower-case hex. Unsalted on purpose: the secret has 256 random bits, so
 * the digest cannot be reversed, and a deterministic digest can be an index.
 */
void auth_secret_hash(const char *token, char out[AUTH_SECRET_HASH_SIZE]);

/* 1 when two digests are equal, compared in constant time; 0 otherwise (also on length). */
int auth_secret_hash_equal(const char *a, const char *b);

/* ---- signed playback tokens -------------------------------------------- */

#define AUTH_MEDIA_ID_MAX 64  /* characters of a media id, from [A-Za-z0-9_-] */
#define AUTH_PLAY_MAX     192 /* bytes of a playback token, longer ones are malformed */

/*
 * A token for streaming paths (/play/<token>/master.m3u8): "<kid>.<media
 * id>.<expires-at>.<mac>", URL-safe, where expires-at is decimal seconds since
 * the epoch and mac the unpadded base64url HMAC-SHA256 of everything before it
 * under a key derived from the key's secret (so the same secret never MACs two
 * kinds of message). Binds one media and an expiry; carries no user.
 * The token replaces the contents of `ret` (cap at least AUTH_PLAY_MAX).
 * KINO_EINVAL for a bad media id or expiry; KINO_ENOTFOUND when there is no key.
 */
int auth_play_sign(const struct auth_keys *keys, const char *media_id, int64_t expires_at,
                   struct buf *ret, struct kino_err *err);

/*
 * Verify a playback token at `now`. When `media_id` is not NULL the token must
 * be for that media. On success copies the token's media id into
 * `ret_media_id` (may be NULL). KINO_EINVAL with the reason: malformed,
 * unknown key id, tampered (MAC differs; constant-time), for another media,
 * expired (now >= expires-at). Allocates nothing and takes a microsecond or
 * two: it is meant for every segment request.
 */
int auth_play_verify(const struct auth_keys *keys, const char *token, const char *media_id,
                     int64_t now, char ret_media_id[AUTH_MEDIA_ID_MAX + 1], struct kino_err *err);

/* How long a playback token lives by default: the longer of 1 hour and twice the duration. */
int64_t auth_play_default_ttl(double duration_s);

#endif
