/* SPDX-License-Identifier: MIT */
/* Aborting allocators (see mem.h). */
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static void *check(void *p, size_t n)
{
    if (!p && n) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory allocating %zu bytes\"}\n", n);
        abort();
    }
    return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1), n ? n : 1); }
void *xcalloc(size_t count, size_t size) { return check(calloc(count ? count : 1, size ? size : 1), 1); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n ? n : 1); }
char *xstrdup(const char *s) { return check(strdup(s), 1); }
char *xstrndup(const char *s, size_t n) { return check(strndup(s, n), 1); }
