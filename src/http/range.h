/* SPDX-License-Identifier: MIT */
/*
 * Private to http/: the `Range: bytes=` header against a file size (RFC 9110
 * §14). Pure parsing, no I/O, so tests/unit/http/range.c covers every form.
 */
#ifndef KINO_HTTP_RANGE_H
#define KINO_HTTP_RANGE_H

#include <stdint.h>

enum range_kind {
    RANGE_NONE = 0,      /* no header, malformed, another unit, or several ranges: send all */
    RANGE_ONE,           /* one satisfiable range: 206 with start..end (inclusive) */
    RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * /size */
};

struct range {
    uint64_t start;
    uint64_t end; /* inclusive, < size */
};

/*
 * Interpret `header` (may be NULL) for a representation of `size` bytes.
 * "bytes=a-b" (b clamped to size-1), "bytes=a-", "bytes=-n" (the last n bytes,
 * all of them when n >= size). A first position at or past the end, "-0", and
 * any range of an empty file are unsatisfiable. ret_range is set for RANGE_ONE.
 */
enum range_kind range_parse(const char *header, uint64_t size, struct range *ret_range);

#endif
