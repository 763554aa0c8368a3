/* SPDX-License-Identifier: MIT */
/* Ids, sizes, numbers, times and file trees. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

Test(util, ids_are_url_safe_and_distinct)
{
    cr_assert(sodium_init() >= 0);
    char a[KINO_ID_LEN + 1], b[KINO_ID_LEN + 1];
    id_new(a);
    id_new(b);
    cr_assert_eq(strlen(a), KINO_ID_LEN);
    cr_assert_str_neq(a, b);
    cr_assert(id_valid(a));
    cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                 KINO_ID_LEN);
    cr_assert_not(id_valid("short"));
    cr_assert_not(id_valid("../../etc/passwd"));
    cr_assert_not(id_valid("AAAAAAAAAAAAAAA/"));
    cr_assert_not(id_valid(NULL));
}

Test(util, sizes)
{
    uint64_t v;
    cr_assert_eq(parse_size("1048576", &v), 0);
    cr_assert_eq(v, 1048576);
    cr_assert_eq(parse_size("512K", &v), 0);
    cr_assert_eq(v, 512 * 1024);
    cr_assert_eq(parse_size("10G", &v), 0);
    cr_assert_eq(v, 10ULL << 30);
    cr_assert_eq(parse_size("2MiB", &v), 0);
    cr_assert_eq(v, 2 << 20);
    cr_assert_eq(parse_size("1.5G", &v), KINO_EINVAL);
    cr_assert_eq(parse_size("-1", &v), KINO_EINVAL);
    cr_assert_eq(parse_size("10X", &v), KINO_EINVAL);
    cr_assert_eq(parse_size("", &v), KINO_EINVAL);
    cr_assert_eq(parse_size("99999999999999999999", &v), KINO_EINVAL);
    cr_assert_eq(parse_size("17179869184G", &v), KINO_EINVAL, "overflow past 2^64");
}

Test(util, whole_numbers_within_bounds)
{
    int64_t v;
    cr_assert_eq(parse_int64("42", 0, 100, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(parse_int64("101", 0, 100, &v), KINO_EINVAL);
    cr_assert_eq(parse_int64("4x", 0, 100, &v), KINO_EINVAL);
    cr_assert_eq(parse_int64(" 4", 0, 100, &v), KINO_EINVAL);
    cr_assert_eq(parse_int64("", 0, 100, &v), KINO_EINVAL);
}

Test(util, rfc3339)
{
    char out[40];
    cr_assert_str_eq(time_format_rfc3339(1795242083255LL, out, sizeof(out)),
                     "2026-11-21T06:21:23.255Z");
    cr_assert_str_eq(time_format_rfc3339(0, out, sizeof(out)), "1970-01-01T00:00:00.000Z");
}

Test(util, remove_tree_does_not_follow_links)
{
    char dir[] = "/tmp/kino-util-XXXXXX", outside[] = "/tmp/kino-outside-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_not_null(mkdtemp(outside));
    char p[256];
    snprintf(p, sizeof(p), "%s/a/b/c", dir);
    cr_assert_eq(fs_mkdirs(p), 0);
    snprintf(p, sizeof(p), "%s/keep", outside);
    close(open(p, O_CREAT | O_WRONLY, 0600));
    snprintf(p, sizeof(p), "%s/a/link", dir);
    cr_assert_eq(symlink(outside, p), 0);
    cr_assert_eq(fs_remove_tree(dir), 0);
    struct stat st;
    cr_assert_neq(stat(dir, &st), 0, "the tree is gone");
    snprintf(p, sizeof(p), "%s/keep", outside);
    cr_assert_eq(stat(p, &st), 0, "what the link pointed at is untouched");
    cr_assert_eq(fs_remove_tree(outside), 0);
    cr_assert_eq(fs_remove_tree("/tmp/kino-does-not-exist-at-all"), 0);
}
