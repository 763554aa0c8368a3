/* SPDX-License-Identifier: MIT */
/*
 * Object storage for sources and media output, addressed by keys like
 * "sources/<media-id>/source.mp4" and "media/<media-id>/720p/3.m4s". One
 * backend today, the local file system ("file:PATH" or a plain path); S3
 * later behind the same functions. A media's whole output lives under one
 * prefix, so deleting it is one call.
 *
 * Keys are relative, '/'-separated, made of [A-Za-z0-9._-] segments that are
 * never "." or "..": a key can never name anything outside the store.
 * Threading: every function may be called from any thread.
 */
#ifndef KINO_BLOB_BLOB_H
#define KINO_BLOB_BLOB_H

#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"

struct blob;

/* Open the store at `url`, creating its folder if needed. Caller frees with blob_free. */
int blob_open(const char *url, struct blob **ret_blob, struct kino_err *err);
void blob_free(struct blob *b);

/* 1 when `key` is a valid key (see above). */
int blob_key_valid(const char *key);

/*
 * Store the local file `local_path` under `key`, taking the file: it is moved
 * (renamed) when it is on the same file system, so nothing is copied.
 * Replaces an existing object.
 */
int blob_put_file(struct blob *b, const char *key, const char *local_path, struct kino_err *err);

/* 1 when an object `key` exists, 0 when not, or a negative code. */
int blob_exists(struct blob *b, const char *key, struct kino_err *err);

/*
 * Open `key` for reading: *ret_fd (caller closes), its size and mtime.
 * KINO_ENOTFOUND when there is no such object (or the key is invalid).
 */
int blob_open_read(struct blob *b, const char *key, int *ret_fd, uint64_t *ret_size,
                   time_t *ret_mtime, struct kino_err *err);

/*
 * Put in `ret_path` a local file path that holds `key`'s bytes, for tools that
 * need a path (the media pipeline). For the file system this is the object
 * itself: the caller must not change it.
 */
int blob_local_path(struct blob *b, const char *key, struct buf *ret_path, struct kino_err *err);

/* Delete every object under `prefix` ("media/<id>"). A missing prefix is success. */
int blob_delete_prefix(struct blob *b, const char *prefix, struct kino_err *err);

/* Check that the store answers and is writable (for /ready). */
int blob_ping(struct blob *b, struct kino_err *err);

#endif
