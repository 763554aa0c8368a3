/* SPDX-License-Identifier: MIT */
/*
 * The file-system blob store: a key is a path under the root folder. Writes
 * arrive as whole files or folders made elsewhere on the same disk and are
 * renamed into place, so a reader never sees half an object.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob/blob.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/banned.h"

struct blob {
    char *root;
};

int blob_key_valid(const char *key)
{
    if (!key || !*key || strlen(key) > 512)
        return 0;
    const char *seg = key;
    for (const char *p = key;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*p == '\0')
                return 1;
            seg = p + 1;
        } else if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
            return 0;
        }
    }
}

static int key_path(struct blob *b, const char *key, char *out, size_t outsz, struct kino_err *err)
{
    if (!blob_key_valid(key))
        return kino_err_set(err, KINO_ENOTFOUND, "'%s' is not a valid storage key", key);
    int n = snprintf(out, outsz, "%s/%s", b->root, key);
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

int blob_open(const char *url, struct blob **ret_blob, struct kino_err *err)
{
    const char *path = strncmp(url, "file:", 5) == 0 ? url + 5 : url;
    if (strstr(url, "://") && strncmp(url, "file:", 5) != 0)
        return kino_err_set(err, KINO_ECONFIG, "storage URL '%s' is not supported; use file:PATH",
                            url);
    int rc = fs_mkdirs(path);
    if (rc < 0)
        return kino_err_set(err, rc, "cannot create the storage folder %s: %s", path,
                            strerror(-rc));
    struct blob *b = xcalloc(1, sizeof(*b));
    b->root = xstrdup(path);
    *ret_blob = b;
    return 0;
}

void blob_free(struct blob *b)
{
    if (!b)
        return;
    free(b->root);
    free(b);
}

int blob_put_file(struct blob *b, const char *key, const char *local_path, struct kino_err *err)
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

int blob_put_dir(struct blob *b, const char *prefix, const char *local_dir, struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = key_path(b, prefix, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    if ((rc = parent_dirs(path)) < 0 || (rc = fs_remove_tree(path)) < 0)
        return kino_err_set(err, rc, "storage: cannot prepare %s: %s", prefix, strerror(-rc));
    if (rename(local_dir, path) < 0)
        return kino_err_set(err, -errno, "storage: cannot move %s to %s: %s", local_dir, prefix,
                            strerror(errno));
    return 0;
}

int blob_open_read(struct blob *b, const char *key, int *ret_fd, uint64_t *ret_size,
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

int blob_local_path(struct blob *b, const char *key, struct buf *ret_path, struct kino_err *err)
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

int blob_delete_prefix(struct blob *b, const char *prefix, struct kino_err *err)
{
    char path[PATH_MAX];
    int rc = key_path(b, prefix, path, sizeof(path), err);
    if (rc < 0)
        return rc;
    if ((rc = fs_remove_tree(path)) < 0)
        return kino_err_set(err, rc, "storage: cannot delete %s: %s", prefix, strerror(-rc));
    return 0;
}

int blob_ping(struct blob *b, struct kino_err *err)
{
    if (access(b->root, R_OK | W_OK | X_OK) < 0)
        return kino_err_set(err, -errno, "storage folder %s is not usable: %s", b->root,
                            strerror(errno));
    return 0;
}
