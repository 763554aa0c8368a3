/* SPDX-License-Identifier: MIT */
/* The file-system store: keys, moves, reads, deletes, and no way out of the store. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/blob.h"
#include "core/util.h"

static char dir[] = "/tmp/kino-blob-XXXXXX";
static char root[300];
static struct blob *b;

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(root, sizeof(root), "%s/store", dir);
    cr_assert_eq(blob_open(root, &b, NULL), 0);
}

static void teardown(void)
{
    blob_free(b);
    fs_remove_tree(dir);
}

TestSuite(blob, .init = setup, .fini = teardown);

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(blob, keys)
{
    cr_assert(blob_key_valid("media/abc/720p/1.m4s"));
    cr_assert(blob_key_valid("sources/x/source.mp4"));
    cr_assert_not(blob_key_valid(""));
    cr_assert_not(blob_key_valid("/etc/passwd"));
    cr_assert_not(blob_key_valid("media/../kino.db"));
    cr_assert_not(blob_key_valid("media/./x"));
    cr_assert_not(blob_key_valid("media//x"));
    cr_assert_not(blob_key_valid("media/x/"));
    cr_assert_not(blob_key_valid("media/x\\..\\y"));
    cr_assert_not(blob_key_valid("media/%2e%2e/x"));
    cr_assert(blob_key_valid("media/..a/x"), "dots inside a name are fine");
}

Test(blob, put_moves_and_read_returns_the_bytes)
{
    char src[400];
    snprintf(src, sizeof(src), "%s/upload", dir);
    write_file(src, "hello");
    cr_assert_eq(blob_put_file(b, "sources/AAAA/source.mp4", src, NULL), 0);
    struct stat st;
    cr_assert_neq(stat(src, &st), 0, "the file was moved, not copied");
    int fd;
    uint64_t size;
    time_t mtime;
    cr_assert_eq(blob_open_read(b, "sources/AAAA/source.mp4", &fd, &size, &mtime, NULL), 0);
    char got[16] = { 0 };
    cr_assert_eq(read(fd, got, sizeof(got)), 5);
    cr_assert_str_eq(got, "hello");
    cr_assert_eq(size, 5);
    close(fd);
}

Test(blob, missing_and_invalid_keys_are_not_found)
{
    int fd;
    uint64_t size;
    time_t mtime;
    struct kino_err err = { 0 };
    cr_assert_eq(blob_open_read(b, "media/nope/x.m4s", &fd, &size, &mtime, &err), KINO_ENOTFOUND);
    char outside[400];
    snprintf(outside, sizeof(outside), "%s/secret", dir);
    write_file(outside, "secret");
    cr_assert_eq(blob_open_read(b, "../secret", &fd, &size, &mtime, NULL), KINO_ENOTFOUND);
    cr_assert_eq(blob_delete_prefix(b, "..", NULL), KINO_ENOTFOUND);
    struct stat st;
    cr_assert_eq(stat(outside, &st), 0);
}

Test(blob, symlinks_in_the_store_are_never_served)
{
    char outside[400], media[400], link[500];
    snprintf(outside, sizeof(outside), "%s/secret", dir);
    write_file(outside, "secret");
    snprintf(media, sizeof(media), "%s/media/AAAA", root);
    cr_assert_eq(fs_mkdirs(media), 0);
    snprintf(link, sizeof(link), "%s/leak.m4s", media);
    cr_assert_eq(symlink(outside, link), 0);
    int fd;
    uint64_t size;
    time_t mtime;
    cr_assert_eq(blob_open_read(b, "media/AAAA/leak.m4s", &fd, &size, &mtime, NULL),
                 KINO_ENOTFOUND);
}

Test(blob, exists_then_delete_prefix)
{
    char f[500];
    snprintf(f, sizeof(f), "%s/seg", dir);
    write_file(f, "seg");
    cr_assert_eq(blob_exists(b, "media/AAAA/720p/1.m4s", NULL), 0);
    cr_assert_eq(blob_put_file(b, "media/AAAA/720p/1.m4s", f, NULL), 0);
    cr_assert_eq(blob_exists(b, "media/AAAA/720p/1.m4s", NULL), 1);
    cr_assert_eq(blob_exists(b, "media/AAAA/720p", NULL), 0, "a folder is not an object");
    cr_assert_eq(blob_delete_prefix(b, "media/AAAA", NULL), 0);
    cr_assert_eq(blob_exists(b, "media/AAAA/720p/1.m4s", NULL), 0);
    cr_assert_eq(blob_delete_prefix(b, "media/AAAA", NULL), 0, "deleting twice is fine");
    cr_assert_eq(blob_exists(b, "../x", NULL), KINO_ENOTFOUND);
    cr_assert_eq(blob_ping(b, NULL), 0);
}
