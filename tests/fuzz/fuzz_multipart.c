/* SPDX-License-Identifier: MIT */
/*
 * The streaming multipart/form-data parser (http.h multipart_*).
 *
 * Input: line 1 is the Content-Type header; line 2 is the plan: decimal chunk
 * sizes separated by spaces ("1 7 64", cycled over the body; none: the whole
 * body in one call), and optionally "bN" / "eN" (the Nth part_begin / part_end
 * refuses with an error code) and "dN" (the part_data call that reaches N
 * bytes in all refuses); everything after it is the body, exactly as sent. A
 * trailing CR on lines 1 and 2 is dropped, so seeds may use CRLF.
 *
 * The body is parsed twice, in one call and in the planned chunks, and each
 * run is recorded as a transcript (begin with its three strings, data with
 * adjacent calls merged, end, and every return code). Checked with abort():
 * the two transcripts are identical (chunk edges never change what a client
 * sees, wherever they cut a delimiter; with "dN" only the outcome is compared,
 * since where data calls fall depends on the chunks); a callback's error code
 * is what feed returns; callbacks nest as begin, data*, end;
 * no part_data call is empty; the part bytes delivered never exceed the body;
 * a finished body has no part left open; a failed parser keeps failing with
 * the same code and calls nothing more.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/http.h"
#include "fuzz.h"
#include "core/banned.h"

#define MAX_CHUNK_SIZES 64
#define CB_ERROR (-4242) /* what a refusing callback returns; no kino code is near it */

/* When callbacks refuse (0: never), from the plan line. */
struct refusals {
    size_t begin_n, end_n, data_at;
};

/* A growable byte log; allocation failure aborts (the fuzzer's -rss_limit is the cap). */
struct tlog {
    char *p;
    size_t len, alloc;
};

static void tlog_add(struct tlog *t, const void *data, size_t len)
{
    if (t->len + len > t->alloc) {
        size_t a = t->alloc ? t->alloc : 256;
        while (a < t->len + len)
            a *= 2;
        char *np = realloc(t->p, a);
        check(np != NULL);
        t->p = np;
        t->alloc = a;
    }
    if (len)
        memcpy(t->p + t->len, data, len);
    t->len += len;
}

static void tlog_str(struct tlog *t, const char *s)
{
    tlog_add(t, s, strlen(s) + 1);
}

struct run {
    struct tlog log;
    int in_part;
    int in_data;        /* the last record is 'D', so the next data call extends it */
    size_t data_bytes;  /* all part_data bytes of this run */
    size_t body_size;
    int dead;           /* the parser failed: no callback may come any more */
    struct refusals refuse;
    size_t n_begin, n_end;
    int last_rc;        /* what the run ended with: the first error, or finish's code */
};

static int on_begin(void *ctx, const char *name, const char *filename, const char *ctype)
{
    struct run *r = ctx;
    check(!r->dead);
    check(!r->in_part);
    check(name != NULL);
    check(strlen(name) < 4096 && (!filename || strlen(filename) < 4096));
    r->in_part = 1;
    r->in_data = 0;
    tlog_add(&r->log, "B", 1);
    tlog_str(&r->log, name);
    tlog_str(&r->log, filename ? filename : "\x01(none)");
    tlog_str(&r->log, ctype ? ctype : "\x01(none)");
    if (++r->n_begin == r->refuse.begin_n) {
        r->dead = 1;
        return CB_ERROR;
    }
    return 0;
}

static int on_data(void *ctx, const char *data, size_t len)
{
    struct run *r = ctx;
    check(!r->dead);
    check(r->in_part);
    check(len > 0);
    check(data != NULL);
    r->data_bytes += len;
    check(r->data_bytes <= r->body_size);
    if (!r->in_data) {
        tlog_add(&r->log, "D", 1);
        r->in_data = 1;
    }
    /* Reading every byte also lets ASan check that the whole range is valid. */
    tlog_add(&r->log, data, len);
    if (r->refuse.data_at && r->data_bytes >= r->refuse.data_at &&
        r->data_bytes - len < r->refuse.data_at) {
        r->dead = 1;
        return CB_ERROR;
    }
    return 0;
}

static int on_end(void *ctx)
{
    struct run *r = ctx;
    check(!r->dead);
    check(r->in_part);
    r->in_part = 0;
    r->in_data = 0;
    tlog_add(&r->log, "E", 1);
    if (++r->n_end == r->refuse.end_n) {
        r->dead = 1;
        return CB_ERROR;
    }
    return 0;
}

static const struct multipart_callbacks callbacks = { on_begin, on_data, on_end };

static void log_rc(struct run *r, char what, int rc)
{
    char rec[32];
    int n = snprintf(rec, sizeof(rec), "%c%d;", what, rc);
    tlog_add(&r->log, rec, (size_t)n);
    r->in_data = 0;
}

/* Parse `body` in the chunks of `sizes` (none: one call); the transcript is left in r->log. */
static void parse(const char *ctype, const uint8_t *body, size_t body_size, const size_t *sizes,
                  size_t n_sizes, struct run *r)
{
    struct kino_err err;
    kino_err_clear(&err);
    struct multipart *mp = NULL;
    int rc = multipart_new(ctype, &callbacks, r, &mp, &err);
    if (rc < 0) {
        check(mp == NULL);
        check(rc == KINO_EPROTO);
        check(err.code == rc && err.msg[0] != '\0');
        log_rc(r, 'N', rc);
        return;
    }
    check(mp != NULL);

    size_t off = 0, k = 0;
    int failed = 0;
    while (off < body_size) {
        size_t n = n_sizes ? sizes[k++ % n_sizes] : body_size;
        if (n == 0 || n > body_size - off)
            n = body_size - off;
        /* An exactly sized copy, as a network read would hand over. */
        char *chunk = malloc(n);
        check(chunk != NULL);
        memcpy(chunk, body + off, n);
        rc = multipart_feed(mp, chunk, n, &err);
        free(chunk);
        off += n;
        if (rc < 0) {
            if (r->dead) {
                check(rc == CB_ERROR); /* a callback's code comes back as it was */
            } else {
                check(rc == KINO_EPROTO);
                check(err.code != 0 && err.msg[0] != '\0');
            }
            log_rc(r, 'F', rc);
            failed = rc;
            break;
        }
        check(rc == 0);
        check(!r->dead); /* a refusing callback stops the parser */
    }
    r->last_rc = failed;
    if (failed) {
        /* A failed parser stays failed, with the same code and no more callbacks. */
        r->dead = 1;
        static const char more[] = "\r\n--x\r\n";
        check(multipart_feed(mp, more, sizeof(more) - 1, &err) == failed);
        check(multipart_finish(mp, &err) == failed);
    } else {
        rc = multipart_finish(mp, &err);
        r->last_rc = rc;
        log_rc(r, 'Z', rc);
        if (rc == 0)
            check(!r->in_part); /* the closing delimiter ends the last part */
        else
            check(rc == KINO_EPROTO);
    }
    check(r->data_bytes <= body_size);
    multipart_free(mp);
}

/* The next line of [*pos, size) without its LF (and a CR before it); *pos moves past it. */
static size_t next_line(const uint8_t *data, size_t size, size_t *pos, const uint8_t **ret_line)
{
    const uint8_t *start = data + *pos;
    const uint8_t *lf = memchr(start, '\n', size - *pos);
    size_t len = lf ? (size_t)(lf - start) : size - *pos;
    *pos += lf ? len + 1 : len;
    if (len && start[len - 1] == '\r')
        len--;
    *ret_line = start;
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    const uint8_t *line;
    size_t len = next_line(data, size, &pos, &line);
    char *ctype = malloc(len + 1);
    check(ctype != NULL);
    memcpy(ctype, line, len);
    ctype[len] = '\0'; /* a NUL inside the line just ends the header early */

    len = next_line(data, size, &pos, &line);
    size_t sizes[MAX_CHUNK_SIZES] = { 0 }, n_sizes = 0; /* zeroed: gcc cannot see n_sizes guards it */
    struct refusals refuse = { 0, 0, 0 };
    for (size_t i = 0; i < len && n_sizes < MAX_CHUNK_SIZES;) {
        uint8_t tag = line[i];
        if (tag == 'b' || tag == 'e' || tag == 'd')
            i++;
        else if (tag < '0' || tag > '9') {
            i++;
            continue;
        }
        size_t v = 0;
        for (; i < len && line[i] >= '0' && line[i] <= '9'; i++)
            v = v > 100000 ? v : v * 10 + (size_t)(line[i] - '0');
        if (tag == 'b')
            refuse.begin_n = v;
        else if (tag == 'e')
            refuse.end_n = v;
        else if (tag == 'd')
            refuse.data_at = v;
        else
            sizes[n_sizes++] = v;
    }

    const uint8_t *body = data + pos;
    size_t body_size = size - pos;

    struct run whole = { .body_size = body_size, .refuse = refuse };
    struct run chunked = { .body_size = body_size, .refuse = refuse };
    parse(ctype, body, body_size, NULL, 0, &whole);
    parse(ctype, body, body_size, sizes, n_sizes, &chunked);
    check(whole.last_rc == chunked.last_rc);
    if (!refuse.data_at) {
        check(whole.log.len == chunked.log.len);
        check(whole.log.len == 0 || memcmp(whole.log.p, chunked.log.p, whole.log.len) == 0);
        check(whole.data_bytes == chunked.data_bytes);
    }

    free(whole.log.p);
    free(chunked.log.p);
    free(ctype);
    return 0;
}
