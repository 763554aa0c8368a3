/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers that abort on failure: a service that cannot allocate a
 * few bytes cannot do anything useful, and checking every call hides real errors.
 */
#ifndef KINO_CORE_MEM_H
#define KINO_CORE_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
