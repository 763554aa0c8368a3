/* SPDX-License-Identifier: MIT */
/*
 * Signing keys: ids, rotation bookkeeping, and the key file in the data
 * directory (made once with mode 0600, read back the same, refused when
 * others may read it or when it is malformed).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "core/util.h"

#define NOW 1700000000LL

static char dir[] = "/tmp/kino-auth-XXXXXX";
static char path[300];

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/auth.key", dir);
}

static void teardown(void)
{
    fs_remove_tree(dir);
}

TestSuite(keys, .init = setup, .fini = teardown);

static void write_file(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static size_t read_file(const char *p, char *out, size_t cap)
{
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    return n;
}

Test(keys, ids_are_checked)
{
    unsigned char s[AUTH_KEY_BYTES] = {1};
    struct auth_keys *k = auth_keys_new();
    struct kino_err err = {0};
    cr_assert_null(auth_keys_current(k));
    cr_assert_eq(auth_keys_add(k, "", s, &err), KINO_EINVAL);
    cr_assert_eq(auth_keys_add(k, "a b", s, NULL), KINO_EINVAL);
    cr_assert_eq(auth_keys_add(k, "a.b", s, NULL), KINO_EINVAL);
    cr_assert_eq(auth_keys_add(k, "123456789012345678901234567890123", s, NULL), KINO_EINVAL);
    cr_assert_eq(auth_keys_add(k, "12345678901234567890123456789012", s, NULL), 0);
    cr_assert_eq(auth_keys_add(k, "12345678901234567890123456789012", s, NULL), KINO_ECONFLICT);
    char kid[8];
    for (int i = 1; i < AUTH_KEYS_MAX; i++) {
        snprintf(kid, sizeof(kid), "k%d", i);
        cr_assert_eq(auth_keys_add(k, kid, s, NULL), 0);
    }
    cr_assert_eq(auth_keys_count(k), AUTH_KEYS_MAX);
    cr_assert_eq(auth_keys_add(k, "one-too-many", s, NULL), KINO_ETOOBIG);
    auth_keys_free(k);
    auth_keys_free(NULL);
}

Test(keys, encoded_secrets_and_removal)
{
    struct auth_keys *k = auth_keys_new();
    struct kino_err err = {0};
    const char *secret = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA";
    cr_assert_eq(auth_keys_add_encoded(k, "a", secret, NULL), 0);
    cr_assert_eq(auth_keys_add_encoded(k, "b", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJ", &err),
                 KINO_EINVAL, "42 characters");
    cr_assert(strstr(err.msg, "43 characters"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "q83v"), "the secret is not echoed: %s", err.msg);
    cr_assert_eq(
        auth_keys_add_encoded(k, "b", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=", NULL),
        KINO_EINVAL, "padded");
    cr_assert_eq(auth_keys_add_encoded(k, "b", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWe+A", NULL),
                 KINO_EINVAL, "not base64url");
    cr_assert_eq(auth_keys_add_encoded(k, "b", secret, NULL), 0);
    cr_assert_str_eq(auth_keys_current(k), "a", "the first key added signs");

    cr_assert_eq(auth_keys_remove(k, "a", NULL), KINO_ECONFLICT, "the current key stays");
    cr_assert_eq(auth_keys_remove(k, "zz", NULL), KINO_ENOTFOUND);
    cr_assert_eq(auth_keys_set_current(k, "zz", NULL), KINO_ENOTFOUND);
    cr_assert_eq(auth_keys_set_current(k, "b", NULL), 0);
    cr_assert_eq(auth_keys_remove(k, "a", NULL), 0);
    cr_assert_eq(auth_keys_count(k), 1);
    cr_assert_str_eq(auth_keys_current(k), "b");
    auth_keys_free(k);
}

Test(keys, key_file_is_created_0600_and_reloaded_identically)
{
    struct auth_keys *k1 = auth_keys_new();
    int created = -1;
    cr_assert_eq(auth_keys_load_or_create(k1, path, &created, NULL), 0);
    cr_assert_eq(created, 1);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(auth_keys_count(k1), 1);
    const char *kid = auth_keys_current(k1);
    cr_assert_eq(strlen(kid), 8, "a short random kid: '%s'", kid);

    char before[4096], after[4096];
    read_file(path, before, sizeof(before));
    cr_assert_not_null(strstr(before, kid));

    /* Next start: the same key, read back, nothing rewritten, no stray temp file. */
    struct auth_keys *k2 = auth_keys_new();
    cr_assert_eq(auth_keys_load_or_create(k2, path, &created, NULL), 0);
    cr_assert_eq(created, 0);
    cr_assert_str_eq(auth_keys_current(k2), kid);
    read_file(path, after, sizeof(after));
    cr_assert_str_eq(before, after);
    int entries = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    cr_assert_eq(entries, 1, "only auth.key in the data directory");

    /* Identical secrets: a token from one verifies with the other, both kinds. */
    struct buf t = BUF_INIT(AUTH_TOKEN_MAX);
    struct auth_claims c;
    cr_assert_eq(auth_token_issue(k1, "u", AUTH_ROLE_ADMIN, NOW, 900, &t, NULL), 0);
    cr_assert_eq(auth_token_verify(k2, t.ptr, NOW, &c, NULL), 0);
    cr_assert_eq(auth_play_sign(k2, "media1", NOW + 60, &t, NULL), 0);
    cr_assert_eq(auth_play_verify(k1, t.ptr, "media1", NOW, NULL, NULL), 0);
    buf_release(&t);

    /* A different data directory gets a different key. */
    char other[320];
    snprintf(other, sizeof(other), "%s/other.key", dir);
    struct auth_keys *k3 = auth_keys_new();
    cr_assert_eq(auth_keys_load_or_create(k3, other, NULL, NULL), 0);
    cr_assert_str_neq(auth_keys_current(k3), kid);
    auth_keys_free(k3);
    auth_keys_free(k2);
    auth_keys_free(k1);
}

Test(keys, key_file_readable_by_others_is_refused)
{
    write_file(path, "ka q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA\n", 0644);
    struct auth_keys *k = auth_keys_new();
    struct kino_err err = {0};
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, &err), KINO_ECONFIG);
    cr_assert(strstr(err.msg, "chmod 600"), "%s", err.msg);
    cr_assert_eq(auth_keys_count(k), 0);
    chmod(path, 0600);
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, NULL), 0);
    cr_assert_str_eq(auth_keys_current(k), "ka");
    auth_keys_free(k);
}

Test(keys, key_file_with_several_keys_and_comments)
{
    write_file(path,
               "# rotated on Monday\n"
               "new q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA\n"
               "\n"
               "  old\tAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8  \r\n",
               0600);
    struct auth_keys *k = auth_keys_new();
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, NULL), 0);
    cr_assert_eq(auth_keys_count(k), 2);
    cr_assert_str_eq(auth_keys_current(k), "new", "the first line signs");
    auth_keys_free(k);
}

Test(keys, malformed_key_file_adds_nothing)
{
    struct auth_keys *k = auth_keys_new();
    struct kino_err err = {0};
    write_file(path, "good q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA\nbad c2VjcmV0\n", 0600);
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, &err), KINO_ECONFIG);
    cr_assert(strstr(err.msg, "line 2"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "c2VjcmV0"), "the secret is not echoed: %s", err.msg);
    cr_assert_eq(auth_keys_count(k), 0, "all or nothing");

    kino_err_clear(&err);
    write_file(path, "justakid\n", 0600);
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, &err), KINO_ECONFIG);
    cr_assert(strstr(err.msg, "line 1"), "%s", err.msg);

    kino_err_clear(&err);
    write_file(path, "# nothing here\n", 0600);
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, &err), KINO_ECONFIG);
    cr_assert(strstr(err.msg, "no key"), "%s", err.msg);
    cr_assert_eq(auth_keys_count(k), 0);
    auth_keys_free(k);
}

Test(keys, configured_keys_stay_current_over_the_file)
{
    struct auth_keys *k = auth_keys_new();
    unsigned char s[AUTH_KEY_BYTES] = {7};
    cr_assert_eq(auth_keys_add(k, "configured", s, NULL), 0);
    cr_assert_eq(auth_keys_load_or_create(k, path, NULL, NULL), 0);
    cr_assert_eq(auth_keys_count(k), 2);
    cr_assert_str_eq(auth_keys_current(k), "configured");
    auth_keys_free(k);
}

Test(keys, missing_directory_is_an_error)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/no/such/dir/auth.key", dir);
    struct auth_keys *k = auth_keys_new();
    struct kino_err err = {0};
    cr_assert_lt(auth_keys_load_or_create(k, p, NULL, &err), 0);
    cr_assert(strstr(err.msg, "auth.key"), "%s", err.msg);
    auth_keys_free(k);
}

/* Two valid 43-character secrets (32 bytes each, unpadded base64url). */
#define SECRET_A "jwViPwmYpRGl973Eh6BRxH4Smz61NFV1BxhW6AOOHpY"
#define SECRET_B "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

Test(keys, keys_from_configuration_the_first_signs)
{
    struct auth_keys *k = auth_keys_new();
    struct kino_err err = { 0 };
    cr_assert_eq(auth_keys_add_list(k, " new:" SECRET_A " , old:" SECRET_B, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(auth_keys_count(k), 2);
    cr_assert_str_eq(auth_keys_current(k), "new");

    /* A token signed with the second key of the list verifies: it is there for rotation. */
    struct auth_keys *old_only = auth_keys_new();
    cr_assert_eq(auth_keys_add_list(old_only, "old:" SECRET_B, NULL), 0);
    struct buf tok = BUF_INIT(AUTH_TOKEN_MAX);
    struct auth_claims claims;
    cr_assert_eq(auth_token_issue(old_only, "user1", AUTH_ROLE_VIEWER, NOW, 900, &tok, NULL), 0);
    cr_assert_eq(auth_token_verify(k, tok.ptr, NOW + 1, &claims, &err), 0, "%s", err.msg);
    cr_assert_str_eq(claims.kid, "old");
    buf_release(&tok);
    auth_keys_free(old_only);
    auth_keys_free(k);
}

Test(keys, a_bad_configured_list_adds_nothing_and_says_which_item)
{
    const char *bad[] = {
        "",                                   /* empty */
        "new:" SECRET_A ",",                  /* an empty item */
        "new:" SECRET_A ",old",               /* no colon */
        "new:" SECRET_A ",:" SECRET_B,        /* no key id */
        "new:" SECRET_A ",old:short",         /* a secret of the wrong size */
        "new:" SECRET_A ",new:" SECRET_B,     /* the same key id twice */
        "b@d:" SECRET_A,                      /* a key id with other characters */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct auth_keys *k = auth_keys_new();
        struct kino_err err = { 0 };
        int rc = auth_keys_add_list(k, bad[i], &err);
        cr_expect_eq(rc, KINO_ECONFIG, "'%s' -> %d", bad[i], rc);
        cr_expect_eq(auth_keys_count(k), 0, "'%s' left %zu key(s)", bad[i], auth_keys_count(k));
        cr_expect(strstr(err.msg, "signing key"), "'%s': %s", bad[i], err.msg);
        cr_expect_null(strstr(err.msg, SECRET_B), "the message shows a secret: %s", err.msg);
        auth_keys_free(k);
    }
}
