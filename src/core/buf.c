/* SPDX-License-Identifier: MIT */
/* struct buf: the capped builder described in buf.h. */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/banned.h"

char buf_empty[1];

int str_eq(struct str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

void buf_init(struct buf *b, size_t max)
{
    *b = BUF_INIT(max);
}

void buf_release(struct buf *b)
{
    if (!b)
        return;
    if (b->alloc)
        free(b->ptr);
    b->ptr = buf_empty;
    b->len = 0;
    b->alloc = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->ptr[0] = '\0';
}

static void grow(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    if (b->alloc) {
        b->ptr = xrealloc(b->ptr, n);
    } else {
        b->ptr = xmalloc(n);
        b->ptr[0] = '\0';
    }
    b->alloc = n;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
    if (len > b->max - b->len)
        return KINO_ETOOBIG;
    grow(b, len);
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return KINO_EINVAL;
    if ((size_t)n > b->max - b->len)
        return KINO_ETOOBIG;
    grow(b, (size_t)n);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(struct buf *b)
{
    char *s = b->alloc ? b->ptr : xstrdup("");
    b->ptr = buf_empty;
    b->len = 0;
    b->alloc = 0;
    return s;
}
