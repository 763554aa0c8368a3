/* SPDX-License-Identifier: MIT */
/*
 * The Range header parser (http/range.h).
 *
 * Input: line 1 is the representation size in decimal (saturating at
 * UINT64_MAX; no digits: 0); the rest is the header value, up to a NUL.
 * Checked with abort(): a satisfiable answer has start <= end < size (so never
 * for an empty file); a header with a comma (several ranges) is never answered
 * with a range or a 416; a suffix range ends at the last byte; the answer does
 * not depend on anything but the header and the size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"
#include "fuzz.h"
#include "core/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *lf = memchr(data, '\n', size);
    size_t line_len = lf ? (size_t)(lf - data) : size;
    uint64_t file_size = 0;
    for (size_t i = 0; i < line_len; i++) {
        if (data[i] < '0' || data[i] > '9')
            continue;
        unsigned d = (unsigned)(data[i] - '0');
        file_size = file_size > (UINT64_MAX - d) / 10 ? UINT64_MAX : file_size * 10 + d;
    }
    size_t off = lf ? line_len + 1 : size;
    size_t hlen = size - off;
    /* Exactly sized, so that a read past the terminating NUL is an ASan report. */
    char *header = malloc(hlen + 1);
    check(header != NULL);
    if (hlen)
        memcpy(header, data + off, hlen);
    header[hlen] = '\0';

    check(range_parse(NULL, file_size, NULL) == RANGE_NONE);

    struct range r = { 0, 0 };
    enum range_kind kind = range_parse(header, file_size, &r);
    check(kind == RANGE_NONE || kind == RANGE_ONE || kind == RANGE_UNSATISFIABLE);
    if (kind == RANGE_ONE) {
        check(file_size > 0);
        check(r.start <= r.end);
        check(r.end < file_size);
    }
    if (strchr(header, ','))
        check(kind == RANGE_NONE);
    const char *eq = strchr(header, '=');
    if (kind == RANGE_ONE && eq) {
        const char *s = eq + 1;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '-')
            check(r.end == file_size - 1); /* "bytes=-n": the last n bytes */
    }

    struct range again = { 1, 0 };
    check(range_parse(header, file_size, &again) == kind);
    if (kind == RANGE_ONE)
        check(again.start == r.start && again.end == r.end);

    free(header);
    return 0;
}
