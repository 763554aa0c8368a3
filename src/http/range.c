/* SPDX-License-Identifier: MIT */
/*
 * Range header parsing (see range.h). Anything we do not understand is ignored
 * rather than refused: RFC 9110 lets a server answer 200 with the whole
 * representation, which every player handles.
 */
#include "http/range.h"

#include <stddef.h>
#include <strings.h>

#include "core/banned.h"

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Digits into *ret, saturating at UINT64_MAX: a huge position is still a position. */
static const char *parse_pos(const char *s, uint64_t *ret)
{
    uint64_t v = 0;
    const char *start = s;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    if (s == start)
        return NULL;
    *ret = v;
    return s;
}

enum range_kind range_parse(const char *header, uint64_t size, struct range *ret_range)
{
    if (!header)
        return RANGE_NONE;
    const char *s = skip_ows(header);
    if (strncasecmp(s, "bytes", 5) != 0)
        return RANGE_NONE;
    s = skip_ows(s + 5);
    if (*s != '=')
        return RANGE_NONE;
    s = skip_ows(s + 1);

    uint64_t first = 0, last = UINT64_MAX, suffix = 0;
    int is_suffix = 0;
    if (*s == '-') {
        is_suffix = 1;
        s = parse_pos(s + 1, &suffix);
        if (!s)
            return RANGE_NONE;
    } else {
        s = parse_pos(s, &first);
        if (!s || *s != '-')
            return RANGE_NONE;
        s++;
        if (*s >= '0' && *s <= '9') {
            s = parse_pos(s, &last);
            if (last < first)
                return RANGE_NONE; /* invalid spec: the whole header is ignored */
        }
    }
    s = skip_ows(s);
    if (*s == ',')
        return RANGE_NONE; /* several ranges would need multipart/byteranges; send all */
    if (*s != '\0')
        return RANGE_NONE;

    if (is_suffix) {
        if (suffix == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        ret_range->start = suffix >= size ? 0 : size - suffix;
        ret_range->end = size - 1;
        return RANGE_ONE;
    }
    if (first >= size)
        return RANGE_UNSATISFIABLE;
    ret_range->start = first;
    ret_range->end = last >= size ? size - 1 : last;
    return RANGE_ONE;
}
