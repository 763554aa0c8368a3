/* SPDX-License-Identifier: MIT */
/*
 * Borrowed string views (struct str) and an owned, capped byte builder
 * (struct buf). A buf never grows past the cap given at init, so a size driven
 * by outside input is bounded where the buffer is made.
 */
#ifndef KINO_CORE_BUF_H
#define KINO_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* A borrowed view: not NUL-terminated, valid as long as its owner says. */
struct str {
    const char *ptr;
    size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })

/* true when `s` equals the NUL-terminated `lit`. */
int str_eq(struct str s, const char *lit);

/*
 * Owned builder. Invariants: `ptr` is never NULL and always NUL-terminated
 * (ptr[len] == 0); len <= max. Allocation failure aborts.
 */
struct buf {
    char *ptr;
    size_t len;
    size_t alloc; /* bytes allocated; 0 while ptr points at a static "" */
    size_t max;   /* cap on len */
};

#define BUF_INIT(cap) ((struct buf){ .ptr = buf_empty, .len = 0, .alloc = 0, .max = (cap) })
extern char buf_empty[1];

/* Initialise an empty buffer that may hold at most `max` bytes. */
void buf_init(struct buf *b, size_t max);

/* Free the contents and leave `b` empty (re-usable). Accepts NULL. */
void buf_release(struct buf *b);

/* Append; return 0, or KINO_ETOOBIG (and leave `b` unchanged) past the cap. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Hand the string to the caller (caller frees with free()) and leave `b` empty. */
char *buf_detach(struct buf *b);

#endif
