/* SPDX-License-Identifier: MIT */
/*
 * Passwords: the policy on new ones, Argon2id hashes, and the dummy
 * verification that makes an unknown account cost one verification, like a
 * wrong password (counted, never timed). Minimum Argon2 cost to stay fast.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "auth/auth.h"

static struct auth_passwords *pw;

static void setup(void)
{
    struct auth_config cfg;
    auth_config_fastest(&cfg);
    cr_assert_eq(auth_passwords_new(&cfg, &pw, NULL), 0);
}

static void teardown(void)
{
    auth_passwords_free(pw);
}

TestSuite(password, .init = setup, .fini = teardown);

Test(password, policy_has_a_minimum_and_a_maximum)
{
    struct kino_err err = {0};
    cr_assert_eq(auth_password_check_policy("1234567", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "at least 8 characters"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "1234567"), "the password is not echoed");
    cr_assert_eq(auth_password_check_policy("12345678", NULL), 0);
    /* Characters, not bytes: 8 two-byte characters pass, 4 of them (8 bytes) do not. */
    cr_assert_eq(auth_password_check_policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                                            NULL),
                 0);
    cr_assert_eq(auth_password_check_policy("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", NULL), KINO_EINVAL);
    kino_err_clear(&err);
    cr_assert_eq(auth_password_check_policy("", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "required"), "%s", err.msg);
    cr_assert_eq(auth_password_check_policy(NULL, NULL), KINO_EINVAL);

    char big[AUTH_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof(big));
    big[AUTH_PASSWORD_MAX] = '\0';
    cr_assert_eq(auth_password_check_policy(big, NULL), 0);
    big[AUTH_PASSWORD_MAX] = 'x';
    big[AUTH_PASSWORD_MAX + 1] = '\0';
    kino_err_clear(&err);
    cr_assert_eq(auth_password_check_policy(big, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "longer than 1024 bytes"), "%s", err.msg);
    char hash[AUTH_HASH_MAX];
    cr_assert_eq(auth_password_hash(pw, big, hash, NULL), KINO_EINVAL, "hash applies the policy");
    cr_assert_eq(auth_password_hash(pw, "short", hash, NULL), KINO_EINVAL);
}

Test(password, hash_and_verify)
{
    char h1[AUTH_HASH_MAX], h2[AUTH_HASH_MAX];
    cr_assert_eq(auth_password_hash(pw, "correct horse battery", h1, NULL), 0);
    cr_assert_eq(strncmp(h1, "$argon2id$", 10), 0, "%s", h1);
    cr_assert_null(strstr(h1, "correct horse"));
    cr_assert_eq(auth_password_hash(pw, "correct horse battery", h2, NULL), 0);
    cr_assert_str_neq(h1, h2, "each hash has its own salt");

    cr_assert_eq(auth_password_verify(pw, h1, "correct horse battery", NULL), 0);
    cr_assert_eq(auth_password_verify(pw, h2, "correct horse battery", NULL), 0);
    struct kino_err err = {0};
    cr_assert_eq(auth_password_verify(pw, h1, "correct horse batterz", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "does not match"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "batter"), "the password is not echoed");
    cr_assert_eq(auth_password_verify(pw, h1, "", NULL), KINO_EINVAL);
    cr_assert_eq(auth_password_verify(pw, "not a hash", "correct horse battery", NULL),
                 KINO_EINVAL);
    cr_assert_eq(auth_password_verify(pw, "", "correct horse battery", NULL), KINO_EINVAL);
}

Test(password, unknown_account_and_wrong_password_cost_one_verification_each)
{
    char hash[AUTH_HASH_MAX];
    cr_assert_eq(auth_password_hash(pw, "the right one", hash, NULL), 0);
    cr_assert_eq(auth_password_verifications(pw), 0, "hashing is not verifying");

    /* Wrong password for a known account. */
    struct kino_err wrong = {0}, unknown = {0};
    cr_assert_eq(auth_password_verify(pw, hash, "the wrong one", &wrong), KINO_EINVAL);
    cr_assert_eq(auth_password_verifications(pw), 1);

    /* No such account: the same work, the same answer. */
    cr_assert_eq(auth_password_verify_dummy(pw, "the wrong one", &unknown), KINO_EINVAL);
    cr_assert_eq(auth_password_verifications(pw), 2);
    cr_assert_str_eq(wrong.msg, unknown.msg);

    /* Even the right password of some account never passes the dummy. */
    cr_assert_eq(auth_password_verify_dummy(pw, "the right one", NULL), KINO_EINVAL);
    cr_assert_eq(auth_password_verifications(pw), 3);
    cr_assert_eq(auth_password_verify(pw, hash, "the right one", NULL), 0);
    cr_assert_eq(auth_password_verifications(pw), 4);

    /* Past the length cap neither path hashes, so they stay alike. */
    char big[AUTH_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert_eq(auth_password_verify(pw, hash, big, NULL), KINO_EINVAL);
    cr_assert_eq(auth_password_verify_dummy(pw, big, NULL), KINO_EINVAL);
    cr_assert_eq(auth_password_verifications(pw), 4);
}

Test(password, cost_changes_ask_for_a_rehash)
{
    char hash[AUTH_HASH_MAX];
    cr_assert_eq(auth_password_hash(pw, "some password", hash, NULL), 0);
    cr_assert_eq(auth_password_needs_rehash(pw, hash), 0);

    struct auth_config cfg;
    auth_config_fastest(&cfg);
    cfg.pw_opslimit++;
    struct auth_passwords *stronger;
    cr_assert_eq(auth_passwords_new(&cfg, &stronger, NULL), 0);
    cr_assert_eq(auth_password_needs_rehash(stronger, hash), 1);
    cr_assert_eq(auth_password_verify(stronger, hash, "some password", NULL), 0,
                 "old hashes still verify: their cost is in the hash");
    auth_passwords_free(stronger);
    cr_assert_eq(auth_password_needs_rehash(pw, "garbage"), 1);
}

Test(password, cost_out_of_range_is_a_config_error)
{
    struct auth_config cfg;
    auth_config_default(&cfg);
    cr_assert_geq(cfg.pw_memlimit, 64u << 20, "interactive: 64 MiB");
    cfg.pw_memlimit = 1;
    struct auth_passwords *p = (void *)1;
    struct kino_err err = {0};
    cr_assert_eq(auth_passwords_new(&cfg, &p, &err), KINO_ECONFIG);
    cr_assert_null(p);
    auth_passwords_free(NULL);
}
