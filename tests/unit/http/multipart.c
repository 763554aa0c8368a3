/* SPDX-License-Identifier: MIT */
/*
 * The streaming multipart parser: the same callbacks and bytes whatever the
 * chunking, boundary look-alikes inside file data, exact CRLF handling at part
 * ends, and the malformed bodies it must refuse.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/http.h"

#define CT "multipart/form-data; boundary=XyZ"

struct rec {
    struct buf log;
    int fail_begin; /* part_begin returns this when non-zero */
};

static int on_begin(void *ctx, const char *name, const char *filename, const char *type)
{
    struct rec *r = ctx;
    buf_addf(&r->log, "[B %s|%s|%s]", name, filename ? filename : "-", type ? type : "-");
    return r->fail_begin;
}

static int on_data(void *ctx, const char *data, size_t len)
{
    struct rec *r = ctx;
    cr_assert_gt(len, 0, "no empty part_data calls");
    buf_add(&r->log, data, len);
    return 0;
}

static int on_end(void *ctx)
{
    struct rec *r = ctx;
    buf_adds(&r->log, "[E]");
    return 0;
}

static const struct multipart_callbacks cbs = { on_begin, on_data, on_end };

/* File data full of almost-delimiters, ending in CRLF and a lone CR before it. */
static const char file_data[] = "\x00\x01\xff binary\r\n--Xy\r\n-XyZ\r\n--XyY --XyZ--\r\r\n--X"
                                "\n\r\n\r\n--Xz\r\r\n\r\n";
#define FILE_LEN (sizeof(file_data) - 1)

static struct buf body;
static struct buf expected;

static void make_body(void)
{
    buf_init(&body, 1 << 20);
    buf_adds(&body, "This is the preamble.\r\n--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
                    "My video\r\n"
                    "--XyZ  \r\n" /* transport padding */
                    "content-disposition: form-data; name=desc\r\n\r\n"
                    "line1\r\nline2\r\n\r\n"
                    "--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\"; c.mp4\"\r\n"
                    "Content-Type: video/mp4 \r\n\r\n");
    buf_add(&body, file_data, FILE_LEN);
    buf_adds(&body, "\r\n--XyZ\r\n"
                    "Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\r\n"
                    "\r\n--XyZ--\r\n");
    buf_init(&expected, 1 << 20);
    buf_adds(&expected, "[B title|-|-]My video[E]"
                        "[B desc|-|-]line1\r\nline2\r\n[E]"
                        "[B file|a \"b\"; c.mp4|video/mp4]");
    buf_add(&expected, file_data, FILE_LEN);
    buf_adds(&expected, "[E][B empty||-][E]");
}

static void release_body(void)
{
    buf_release(&body);
    buf_release(&expected);
}

TestSuite(multipart, .init = make_body, .fini = release_body);

/* Feed `data` in chunks chosen by `next_len`; return the final result. */
static int run(const char *ct, const char *data, size_t len, size_t (*next_len)(size_t left),
               struct rec *r, struct kino_err *err)
{
    struct multipart *mp = NULL;
    int ret = multipart_new(ct, &cbs, r, &mp, err);
    if (ret < 0)
        return ret;
    size_t off = 0;
    while (off < len) {
        size_t n = next_len(len - off);
        /* A private copy per chunk: the parser must not keep pointers into old chunks. */
        char *chunk = malloc(n);
        memcpy(chunk, data + off, n);
        ret = multipart_feed(mp, chunk, n, err);
        memset(chunk, 'Z', n);
        free(chunk);
        off += n;
        if (ret < 0)
            break;
    }
    if (ret == 0)
        ret = multipart_finish(mp, err);
    multipart_free(mp);
    return ret;
}

static size_t whole(size_t left)
{
    return left;
}

static size_t one_byte(size_t left)
{
    return 1;
}

static size_t random_len(size_t left)
{
    size_t n = 1 + (size_t)rand() % 23;
    return n < left ? n : left;
}

static void check_log(struct rec *r)
{
    cr_assert_eq(r->log.len, expected.len, "log length %zu, want %zu", r->log.len, expected.len);
    cr_assert_eq(memcmp(r->log.ptr, expected.ptr, expected.len), 0, "log:\n%s", r->log.ptr);
}

Test(multipart, whole_body)
{
    struct rec r = { .log = BUF_INIT(1 << 20) };
    struct kino_err err = { 0 };
    cr_assert_eq(run(CT, body.ptr, body.len, whole, &r, &err), 0, "%s", err.msg);
    check_log(&r);
    buf_release(&r.log);
}

Test(multipart, one_byte_at_a_time)
{
    struct rec r = { .log = BUF_INIT(1 << 20) };
    struct kino_err err = { 0 };
    cr_assert_eq(run(CT, body.ptr, body.len, one_byte, &r, &err), 0, "%s", err.msg);
    check_log(&r);
    buf_release(&r.log);
}

Test(multipart, random_chunks)
{
    for (unsigned seed = 1; seed <= 200; seed++) {
        srand(seed);
        struct rec r = { .log = BUF_INIT(1 << 20) };
        struct kino_err err = { 0 };
        cr_assert_eq(run(CT, body.ptr, body.len, random_len, &r, &err), 0, "seed %u: %s", seed,
                     err.msg);
        check_log(&r);
        buf_release(&r.log);
    }
}

Test(multipart, no_preamble_and_quoted_boundary)
{
    const char *b = "--a:b c\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a:b c--";
    struct rec r = { .log = BUF_INIT(4096) };
    struct kino_err err = { 0 };
    cr_assert_eq(run("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a:b c\"", b, strlen(b), whole,
                     &r, &err), 0, "%s", err.msg);
    cr_assert_str_eq(r.log.ptr, "[B x|-|-]1[E]");
    buf_release(&r.log);
}

Test(multipart, bad_content_type)
{
    struct multipart *mp = NULL;
    struct kino_err err = { 0 };
    cr_assert_eq(multipart_new("multipart/form-data", &cbs, NULL, &mp, &err), KINO_EPROTO);
    cr_assert_not_null(strstr(err.msg, "boundary"));
    kino_err_clear(&err);
    cr_assert_eq(multipart_new("multipart/form-data; boundary=", &cbs, NULL, &mp, &err),
                 KINO_EPROTO);
    kino_err_clear(&err);
    cr_assert_eq(multipart_new("application/json", &cbs, NULL, &mp, &err), KINO_EPROTO);
    kino_err_clear(&err);
    cr_assert_eq(multipart_new(NULL, &cbs, NULL, &mp, &err), KINO_EPROTO);
    kino_err_clear(&err);
    cr_assert_eq(multipart_new("multipart/form-data; boundary=\"a\r\nb\"", &cbs, NULL, &mp, &err),
                 KINO_EPROTO);
    cr_assert_null(mp);
}

Test(multipart, truncated_body_fails_at_finish)
{
    /* Cut anywhere before the closing delimiter is complete. */
    size_t close_at = body.len - strlen("\r\n"); /* the epilogue CRLF may be missing */
    for (size_t cut = 0; cut < close_at; cut += 7) {
        struct rec r = { .log = BUF_INIT(1 << 20) };
        struct kino_err err = { 0 };
        cr_assert_eq(run(CT, body.ptr, cut, whole, &r, &err), KINO_EPROTO, "cut at %zu", cut);
        cr_assert_not_null(strstr(err.msg, "ended early"), "cut %zu: %s", cut, err.msg);
        buf_release(&r.log);
    }
    struct rec r = { .log = BUF_INIT(1 << 20) };
    cr_assert_eq(run(CT, body.ptr, close_at, whole, &r, NULL), 0);
    buf_release(&r.log);
}

Test(multipart, headers_too_long)
{
    struct buf b = BUF_INIT(1 << 16);
    buf_adds(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Pad: ");
    for (int i = 0; i < 9000; i++)
        buf_adds(&b, "a");
    buf_adds(&b, "\r\n\r\nv\r\n--XyZ--\r\n");
    struct rec r = { .log = BUF_INIT(4096) };
    struct kino_err err = { 0 };
    cr_assert_eq(run(CT, b.ptr, b.len, one_byte, &r, &err), KINO_EPROTO);
    cr_assert_not_null(strstr(err.msg, "8 KiB"), "%s", err.msg);
    cr_assert_str_eq(r.log.ptr, "");
    buf_release(&r.log);
    buf_release(&b);
}

static void refuse(const char *b, const char *why)
{
    struct rec r = { .log = BUF_INIT(4096) };
    struct kino_err err = { 0 };
    cr_assert_eq(run(CT, b, strlen(b), whole, &r, &err), KINO_EPROTO, "%s", b);
    cr_assert_not_null(strstr(err.msg, why), "%s", err.msg);
    buf_release(&r.log);
}

Test(multipart, malformed)
{
    refuse("--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--", "no Content-Disposition");
    refuse("--XyZ\r\n\r\nv\r\n--XyZ--", "no Content-Disposition");
    refuse("--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--", "with a name");
    refuse("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--XyZ--", "form-data");
    refuse("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--XyZ--", "malformed");
    refuse("--XyZ\r\nNoColon\r\n\r\nv\r\n--XyZ--", "no ':'");
    refuse("--XyZx\r\n", "after a boundary");
    refuse("--XyZ\rX", "CRLF");
    refuse("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--\r\nmore",
           "after the closing boundary");
}

Test(multipart, callback_error_stops_the_parser)
{
    const char *b = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--";
    struct rec r = { .log = BUF_INIT(4096), .fail_begin = -42 };
    struct kino_err err = { 0 };
    struct multipart *mp = NULL;
    cr_assert_eq(multipart_new(CT, &cbs, &r, &mp, &err), 0);
    cr_assert_eq(multipart_feed(mp, b, strlen(b), &err), -42);
    cr_assert_eq(multipart_feed(mp, "x", 1, &err), -42, "stays failed");
    cr_assert_eq(multipart_finish(mp, &err), -42);
    multipart_free(mp);
    cr_assert_str_eq(r.log.ptr, "[B a|-|-]");
    buf_release(&r.log);
}

Test(multipart, large_part_streams_in_fixed_memory)
{
    /* 4 MiB of data in 64 KiB chunks; each chunk's data arrives before the next is fed. */
    struct buf b = BUF_INIT(8 << 20);
    buf_adds(&b, "--XyZ\r\nContent-Disposition: form-data; name=f; filename=big\r\n\r\n");
    size_t start = b.len;
    for (size_t i = 0; i < (4u << 20); i++) {
        char c = (char)(i * 13 % 256);
        buf_add(&b, &c, 1);
    }
    size_t end = b.len;
    buf_adds(&b, "\r\n--XyZ--");
    struct rec r = { .log = BUF_INIT(8 << 20) };
    struct multipart *mp = NULL;
    cr_assert_eq(multipart_new(CT, &cbs, &r, &mp, NULL), 0);
    for (size_t off = 0; off < b.len; off += 65536) {
        size_t n = b.len - off < 65536 ? b.len - off : 65536;
        cr_assert_eq(multipart_feed(mp, b.ptr + off, n, NULL), 0);
    }
    cr_assert_eq(multipart_finish(mp, NULL), 0);
    multipart_free(mp);
    const char *head = "[B f|big|-]";
    cr_assert_eq(r.log.len, strlen(head) + (end - start) + 3);
    cr_assert_eq(memcmp(r.log.ptr + strlen(head), b.ptr + start, end - start), 0);
    buf_release(&r.log);
    buf_release(&b);
}

Test(multipart, garbage_never_crashes)
{
    /* Random mixes of the tokens that drive the state machine; only the outcome varies. */
    static const char *const tokens[] = { "--XyZ", "\r\n", "\r", "\n", "--", "-", "x",
                                          "Content-Disposition: form-data; name=\"a\"",
                                          "Content-Type: t", ":", ";", "\"", " " };
    for (unsigned seed = 1; seed <= 2000; seed++) {
        srand(seed);
        struct buf b = BUF_INIT(1 << 16);
        int n = 1 + rand() % 60;
        for (int i = 0; i < n; i++)
            buf_adds(&b, tokens[(size_t)rand() % (sizeof(tokens) / sizeof(tokens[0]))]);
        struct rec r = { .log = BUF_INIT(1 << 20) };
        int ret = run(CT, b.ptr, b.len, random_len, &r, NULL);
        cr_assert(ret == 0 || ret == KINO_EPROTO, "seed %u: %d", seed, ret);
        buf_release(&r.log);
        buf_release(&b);
    }
}
