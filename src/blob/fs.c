/* SPDX-License-Identifier: MIT */
/*
 * The file-system blob store: a key is a path under the root folder. Writes
 * arrive as whole files or folders made elsewhere on the same disk and are
 * renamed into place, so a reader never sees half an object.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/blob_internal.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/banned.h"

struct fs_blob {
    struct blob base; /* first: handed out as struct blob */
    char *root;
};

static const struct blob_ops fs_ops;

static struct fs_blob *fs_downcast(struct blob *b)
{
    return b->ops == &fs_ops ? (struct fs_blob *)b : NULL;
}

/* Keys arrive checked by blob.c: no "..", no absolute paths. */
static int key_path(struct blob *b, const char *key, char *out, size_t outsz, struct kino_err *err)
{
    int n = snprintf(out, outsz, "%s/%s", fs_downcast(b)->root, key);
    if (n < 0 || (size_t)n >= outsz)
        return kino_err_set(err, -ENAMETOOLONG, "storage path too long for key '%s'", key);
    return 0;
}

static int parent_dirs(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    return fs_mkdirs(dir);
}

int blob_fs_open(const char *path, struct blob **ret_blob, struct kino_err *err)
{
    int rc = fs_mkdirs(path);
    if (rc < 0)
        return kino_err_set(err, rc, "cannot create the storage folder %s: %s", path,
                            strerror(-rc));
    struct fs_blob *fb = xcalloc(1, sizeof(*fb));
    fb->base.ops = &fs_ops;
    fb->root = xstrdup(path);
    *ret_blob = &fb->base;
    return 0;
}

static void fs_free(struct blob *b)
{
    struct fs_blob *fb = fs_downcast(b);
    free(fb->root);
    free(fb);
}

static int fs_put_file(struct blob *b, const char *key, const char *local_path, struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = key_path(b, key, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    if ((rc = parent_dirs(path)) < 0)
        return kino_err_set(err, rc, "storage: cannot create the folder for %s: %s", key,
                            strerror(-rc));
    if (rename(local_path, path) < 0)
        return kino_err_set(err, -errno, "storage: cannot move %s to %s: %s", local_path, key,
                            strerror(errno));
    return 0;
}

static int fs_exists(struct blob *b, const char *key, struct kino_err *err)
{
    char path[PATH_MAX];
    struct stat st;
    int rc = key_path(b, key, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    if (lstat(path, &st) == 0)
        return S_ISREG(st.st_mode);
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    return kino_err_set(err, -errno, "storage: cannot look at %s: %s", key, strerror(errno));
}

static int fs_open_read(struct blob *b, const char *key, int *ret_fd, uint64_t *ret_size,
                   time_t *ret_mtime, struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = key_path(b, key, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    /* O_NOFOLLOW: the store holds only regular files kino wrote; a link is never served. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return kino_err_set(err, KINO_ENOTFOUND, "no object '%s'", key);
        return kino_err_set(err, -errno, "storage: cannot open %s: %s", key, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return kino_err_set(err, KINO_ENOTFOUND, "no object '%s'", key);
    }
    *ret_fd = fd;
    *ret_size = (uint64_t)st.st_size;
    *ret_mtime = st.st_mtime;
    return 0;
}

static int fs_local_path(struct blob *b, const char *key, struct buf *ret_path, struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = key_path(b, key, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    if (access(path, R_OK) < 0)
        return kino_err_set(err, errno == ENOENT ? KINO_ENOTFOUND : -errno,
                            "storage: %s is not readable: %s", key, strerror(errno));
    buf_reset(ret_path);
    return buf_adds(ret_path, path);
}

static int fs_delete_prefix(struct blob *b, const char *prefix, struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = key_path(b, prefix, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    if ((rc = fs_remove_tree(path)) < 0)
        return kino_err_set(err, rc, "storage: cannot delete %s: %s", prefix, strerror(-rc));
    return 0;
}

static int fs_ping(struct blob *b, struct kino_err *err)
{
    const char *root = fs_downcast(b)->root;
    if (access(root, R_OK | W_OK | X_OK) < 0)
        return kino_err_set(err, -errno,
                            "storage folder %s is not usable: %s; check that it exists and "
                            "that kino may write there",
                            root, strerror(errno));
    return 0;
}

static const struct blob_ops fs_ops = {
    .name = "file",
    .put_file = fs_put_file,
    .exists = fs_exists,
    .open_read = fs_open_read,
    .local_path = fs_local_path,
    .delete_prefix = fs_delete_prefix,
    .ping = fs_ping,
    .free = fs_free,
};
