/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every module needs: random ids, clocks and RFC 3339 times,
 * checked number parsing, and file-tree operations.
 */
#ifndef KINO_CORE_UTIL_H
#define KINO_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Ids are 16 random characters from the URL-safe base64 alphabet (96 bits). */
#define KINO_ID_LEN 16

/* Fill `out` (KINO_ID_LEN + 1 bytes) with a new random id. Thread-safe. */
void id_new(char out[KINO_ID_LEN + 1]);

/* true when `s` has the shape of an id (so it can be used in paths and keys). */
int id_valid(const char *s);

/* Milliseconds since the Unix epoch (wall clock) / since an arbitrary point (monotonic). */
int64_t time_now_ms(void);
int64_t time_mono_ms(void);

/* Format `ms` since the epoch as "2026-11-21T10:00:00.123Z" into `out` (>= 32 bytes). */
char *time_format_rfc3339(int64_t ms, char *out, size_t outsz);

/* Parse a whole decimal integer within [min, max]; 0 or KINO_EINVAL. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* Parse a size: "1048576", "512K", "100M", "10G" (powers of 1024); 0 or KINO_EINVAL. */
int parse_size(const char *s, uint64_t *ret);

/* mkdir -p with mode 0755; 0 or -errno. */
int fs_mkdirs(const char *path);

/* rm -rf that never follows symlinks; a missing path is success. 0 or -errno. */
int fs_remove_tree(const char *path);

#endif
