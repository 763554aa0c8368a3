/* SPDX-License-Identifier: MIT */
/*
 * What a storage backend implements. Only blob.c and the backends include
 * this. A backend embeds `struct blob` first in its own struct and fills a
 * const ops table; blob.c checks keys once, then dispatches.
 */
#ifndef KINO_BLOB_INTERNAL_H
#define KINO_BLOB_INTERNAL_H

#include "blob/blob.h"

struct blob_ops {
    const char *name;
    /* Every key and prefix handed to these has passed blob_key_valid. */
    int (*put_file)(struct blob *b, const char *key, const char *local_path, struct kino_err *err);
    /* 1 or 0; a negative code when the store cannot tell. */
    int (*exists)(struct blob *b, const char *key, struct kino_err *err);
    int (*open_read)(struct blob *b, const char *key, int *ret_fd, uint64_t *ret_size,
                     time_t *ret_mtime, struct kino_err *err);
    int (*local_path)(struct blob *b, const char *key, struct buf *ret_path, struct kino_err *err);
    int (*delete_prefix)(struct blob *b, const char *prefix, struct kino_err *err);
    int (*ping)(struct blob *b, struct kino_err *err);
    void (*free)(struct blob *b);
};

struct blob {
    const struct blob_ops *ops;
};

/* Backend constructors. */
int blob_fs_open(const char *root, struct blob **ret_blob, struct kino_err *err);

#endif
