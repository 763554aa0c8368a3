/* SPDX-License-Identifier: MIT */
/*
 * Backend choice and dispatch. Keys are checked here, once, so no backend can
 * be handed a key that escapes its store.
 */
#include <ctype.h>
#include <string.h>

#include "blob/blob_internal.h"
#include "core/banned.h"

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

static int bad_key(const char *key, struct kino_err *err)
{
    return kino_err_set(err, KINO_ENOTFOUND, "'%s' is not a valid storage key", key ? key : "");
}

int blob_open(const char *url, struct blob **ret_blob, struct kino_err *err)
{
    if (strncmp(url, "file:", 5) == 0)
        return blob_fs_open(url + 5, ret_blob, err);
    if (strstr(url, "://"))
        return kino_err_set(err, KINO_ECONFIG,
                            "storage URL '%s' is not supported; use file:PATH or a folder", url);
    return blob_fs_open(url, ret_blob, err);
}

void blob_free(struct blob *b)
{
    if (b)
        b->ops->free(b);
}

int blob_put_file(struct blob *b, const char *key, const char *local_path, struct kino_err *err)
{
    return blob_key_valid(key) ? b->ops->put_file(b, key, local_path, err) : bad_key(key, err);
}

int blob_exists(struct blob *b, const char *key, struct kino_err *err)
{
    return blob_key_valid(key) ? b->ops->exists(b, key, err) : bad_key(key, err);
}

int blob_open_read(struct blob *b, const char *key, int *ret_fd, uint64_t *ret_size,
                   time_t *ret_mtime, struct kino_err *err)
{
    return blob_key_valid(key) ? b->ops->open_read(b, key, ret_fd, ret_size, ret_mtime, err)
                               : bad_key(key, err);
}

int blob_local_path(struct blob *b, const char *key, struct buf *ret_path, struct kino_err *err)
{
    return blob_key_valid(key) ? b->ops->local_path(b, key, ret_path, err) : bad_key(key, err);
}

int blob_delete_prefix(struct blob *b, const char *prefix, struct kino_err *err)
{
    return blob_key_valid(prefix) ? b->ops->delete_prefix(b, prefix, err) : bad_key(prefix, err);
}

int blob_ping(struct blob *b, struct kino_err *err)
{
    return b->ops->ping(b, err);
}
