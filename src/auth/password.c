/* SPDX-License-Identifier: MIT */
/*
 * Password hashing with Argon2id (libsodium's crypto_pwhash_str), the policy
 * on new passwords, and the dummy verification that makes a login for an
 * unknown account cost what a wrong password costs.
 */
#include "auth/auth_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/banned.h"

_Static_assert(AUTH_HASH_MAX >= crypto_pwhash_STRBYTES, "AUTH_HASH_MAX holds a pwhash string");

struct auth_passwords {
    unsigned long long opslimit;
    size_t memlimit;
    char dummy[crypto_pwhash_STRBYTES];
    _Atomic uint64_t verifications;
};

void auth_config_default(struct auth_config *cfg)
{
    cfg->pw_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    cfg->pw_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

void auth_config_fastest(struct auth_config *cfg)
{
    cfg->pw_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    cfg->pw_memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

int auth_passwords_new(const struct auth_config *cfg, struct auth_passwords **ret,
                       struct kino_err *err)
{
    *ret = NULL;
    if (sodium_init() < 0)
        return kino_err_set(err, KINO_EINTERNAL, "libsodium could not start");
    if (cfg->pw_opslimit < crypto_pwhash_OPSLIMIT_MIN ||
        cfg->pw_opslimit > crypto_pwhash_OPSLIMIT_MAX ||
        cfg->pw_memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        cfg->pw_memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return kino_err_set(err, KINO_ECONFIG,
                            "the password hash cost (ops %llu, memory %zu bytes) is out of "
                            "Argon2id's range; use the defaults",
                            cfg->pw_opslimit, cfg->pw_memlimit);
    struct auth_passwords *pw = xcalloc(1, sizeof(*pw));
    pw->opslimit = cfg->pw_opslimit;
    pw->memlimit = cfg->pw_memlimit;
    atomic_init(&pw->verifications, 0);

    /* A random password nobody knows, hashed with the same cost as real ones. */
    unsigned char raw[24];
    char phrase[sodium_base64_ENCODED_LEN(sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(phrase, sizeof(phrase), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int rc = crypto_pwhash_str(pw->dummy, phrase, strlen(phrase), pw->opslimit, pw->memlimit);
    sodium_memzero(phrase, sizeof(phrase));
    if (rc != 0) {
        free(pw);
        return kino_err_set(err, KINO_EINTERNAL,
                            "Argon2id could not allocate %zu bytes; lower the password hash "
                            "memory or give kino more memory",
                            cfg->pw_memlimit);
    }
    *ret = pw;
    return 0;
}

void auth_passwords_free(struct auth_passwords *pw)
{
    free(pw);
}

int auth_password_check_policy(const char *password, struct kino_err *err)
{
    if (!password || !*password)
        return kino_err_set(err, KINO_EINVAL, "a password is required");
    size_t bytes = strlen(password);
    if (bytes > AUTH_PASSWORD_MAX)
        return kino_err_set(err, KINO_EINVAL,
                            "the password is longer than %d bytes; choose a shorter one",
                            AUTH_PASSWORD_MAX);
    size_t chars = 0;
    for (size_t i = 0; i < bytes; i++)
        chars += ((unsigned char)password[i] & 0xC0) != 0x80; /* UTF-8 lead bytes */
    if (chars < AUTH_PASSWORD_MIN)
        return kino_err_set(err, KINO_EINVAL,
                            "the password is too short; use at least %d characters",
                            AUTH_PASSWORD_MIN);
    return 0;
}

int auth_password_hash(const struct auth_passwords *pw, const char *password,
                       char out[AUTH_HASH_MAX], struct kino_err *err)
{
    int rc = auth_password_check_policy(password, err);
    if (rc != 0)
        return rc;
    if (crypto_pwhash_str(out, password, strlen(password), pw->opslimit, pw->memlimit) != 0)
        return kino_err_set(err, KINO_EINTERNAL,
                            "Argon2id could not allocate %zu bytes; try again later", pw->memlimit);
    return 0;
}

/* Both verifications end here, so they do the same work and count the same way. */
static int verify(struct auth_passwords *pw, const char *hash, const char *password,
                  struct kino_err *err)
{
    size_t len = password ? strlen(password) : 0;
    if (!password || len > AUTH_PASSWORD_MAX)
        return kino_err_set(err, KINO_EINVAL, "the password does not match");
    /* sodium reads a fixed-size array: copy the stored string into one. */
    char str[crypto_pwhash_STRBYTES] = {0};
    size_t hlen = hash ? strlen(hash) : 0;
    if (hlen < sizeof(str))
        memcpy(str, hash, hlen);
    atomic_fetch_add_explicit(&pw->verifications, 1, memory_order_relaxed);
    if (crypto_pwhash_str_verify(str, password, len) != 0)
        return kino_err_set(err, KINO_EINVAL, "the password does not match");
    return 0;
}

int auth_password_verify(struct auth_passwords *pw, const char *hash, const char *password,
                         struct kino_err *err)
{
    return verify(pw, hash, password, err);
}

int auth_password_verify_dummy(struct auth_passwords *pw, const char *password,
                               struct kino_err *err)
{
    verify(pw, pw->dummy, password, NULL);
    return kino_err_set(err, KINO_EINVAL, "the password does not match");
}

uint64_t auth_password_verifications(const struct auth_passwords *pw)
{
    return atomic_load_explicit(&pw->verifications, memory_order_relaxed);
}

int auth_password_needs_rehash(const struct auth_passwords *pw, const char *hash)
{
    char str[crypto_pwhash_STRBYTES] = {0};
    size_t hlen = hash ? strlen(hash) : 0;
    if (hlen < sizeof(str))
        memcpy(str, hash, hlen);
    return crypto_pwhash_str_needs_rehash(str, pw->opslimit, pw->memlimit) != 0;
}
