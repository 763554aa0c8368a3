/* SPDX-License-Identifier: MIT */
/*
 * The router and percent-decoding (http/router.h) against kino's own kind of
 * route table (a copy of the patterns in src/api/routes.c, with stub handlers).
 *
 * Input: line 1 is the method, the rest the raw request path, up to a NUL.
 * Checked with abort(): a `{name}` value is non-empty and has no '/'; a
 * `{*rest}` value is non-empty with no "." or ".." segment; no value hides a
 * NUL (the path has no "%00" when anything matched); each value is the decoded
 * path segment(s) in its place and literal segments match exactly; the method
 * fits the route (a GET route also takes HEAD); the Allow list agrees with the
 * status; matching with and without an Allow list gives the same answer.
 * http_url_decode on the raw bytes (NULs included) returns NULL or a string of
 * exactly the decoded length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "http/router.h"
#include "fuzz.h"
#include "core/banned.h"

static void stub(struct http_request *req)
{
    (void)req;
}

static int stub_body(struct http_request *req, const char *data, size_t len)
{
    (void)req;
    (void)data;
    (void)len;
    return 0;
}

static const struct http_route routes[] = {
    { "GET", "/health", stub, NULL },
    { "GET", "/ready", stub, NULL },
    { "POST", "/api/v1/upload", stub, stub_body },
    { "GET", "/api/v1/media", stub, NULL },
    { "GET", "/api/v1/media/{id}", stub, NULL },
    { "PATCH", "/api/v1/media/{id}", stub, NULL },
    { "DELETE", "/api/v1/media/{id}", stub, NULL },
    { "GET", "/api/v1/media/{id}/playback", stub, NULL },
    { "GET", "/media/{id}/{*rest}", stub, NULL },
    /* Not kino's, but the same shapes pushed further: two adjacent params, a rest at the top. */
    { "PUT", "/a/{x}/{y}/b", stub, NULL },
    { "GET", "/files/{*path}", stub, NULL },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static int has_dot_segment(const char *s)
{
    for (;;) {
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 1;
        if (!end)
            return 0;
        s = end + 1;
    }
}

/* `method` is one of the ", "-separated entries of `list`. */
static int list_has(const char *list, const char *method)
{
    size_t n = strlen(method);
    for (const char *s = list; *s;) {
        const char *end = strstr(s, ", ");
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && memcmp(s, method, n) == 0)
            return 1;
        if (!end)
            break;
        s = end + 2;
    }
    return 0;
}

/* The match agrees with its route's pattern, segment by segment, and every value is safe. */
static void check_match(const struct router_match *m, const char *method, const char *path)
{
    const struct http_route *rt = m->route;
    check(rt != NULL);
    check(strcmp(rt->method, method) == 0 ||
          (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0));
    check(strstr(path, "%00") == NULL);

    const char *p = rt->pattern, *u = path;
    unsigned seen = 0;
    check(*p == '/' && *u == '/');
    while (*p) {
        check(*p == '/' && *u == '/');
        p++;
        u++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        const char *uend = strchr(u, '/');
        size_t ulen = uend ? (size_t)(uend - u) : strlen(u);
        int is_rest = plen >= 3 && p[0] == '{' && p[1] == '*';
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            check(seen < m->n_params);
            const struct router_param *prm = &m->params[seen++];
            size_t nlen = plen - (is_rest ? 3 : 2);
            check(prm->name_len == nlen && memcmp(prm->name, p + (is_rest ? 2 : 1), nlen) == 0);
            const char *v = prm->value;
            check(v != NULL && v[0] != '\0');
            size_t raw_len = is_rest ? strlen(u) : ulen;
            char *expect = http_url_decode(u, raw_len, 0);
            check(expect != NULL && strcmp(expect, v) == 0);
            free(expect);
            if (is_rest) {
                check(pend == NULL);
                check(!has_dot_segment(v));
                u += raw_len;
            } else {
                check(strchr(v, '/') == NULL);
                u += ulen;
            }
        } else {
            check(plen == ulen && memcmp(p, u, plen) == 0);
            u += ulen;
        }
        p += plen;
    }
    check(*u == '\0');
    check(seen == m->n_params);
    for (unsigned i = 0; i < m->n_params; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)m->params[i].name_len, m->params[i].name);
        check(router_match_param(m, name) == m->params[i].value);
    }
}

static void check_decode(const uint8_t *s, size_t len, int plus_is_space)
{
    char *out = http_url_decode((const char *)s, len, plus_is_space);
    if (!out)
        return;
    size_t expect = 0;
    for (size_t i = 0; i < len; expect++) {
        check(s[i] != '\0');
        if (s[i] == '%') {
            check(len - i >= 3);
            i += 3;
        } else {
            i++;
        }
    }
    check(strlen(out) == expect);
    if (plus_is_space && !memchr(s, '%', len))
        check(strchr(out, '+') == NULL);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size, 0);
    check_decode(data, size, 1);

    const uint8_t *lf = memchr(data, '\n', size);
    size_t mlen = lf ? (size_t)(lf - data) : size;
    size_t off = lf ? mlen + 1 : size;
    char *method = malloc(mlen + 1);
    char *path = malloc(size - off + 1);
    check(method != NULL && path != NULL);
    memcpy(method, data, mlen);
    method[mlen] = '\0';
    memcpy(path, data + off, size - off);
    path[size - off] = '\0';

    struct router_match m, m2;
    struct buf allow = BUF_INIT(4096);
    enum router_status st = router_find(routes, N_ROUTES, method, path, &m, &allow);
    enum router_status st2 = router_find(routes, N_ROUTES, method, path, &m2, NULL);
    check(st == st2);
    check(m.route == m2.route && m.n_params == m2.n_params);
    for (unsigned i = 0; i < m.n_params; i++)
        check(strcmp(m.params[i].value, m2.params[i].value) == 0);

    switch (st) {
    case ROUTER_FOUND:
        check_match(&m, method, path);
        check(list_has(allow.ptr, method));
        break;
    case ROUTER_NO_METHOD:
        check(m.route == NULL && m.n_params == 0);
        check(allow.len > 0);
        check(!list_has(allow.ptr, method));
        break;
    case ROUTER_NOT_FOUND:
        check(m.route == NULL && m.n_params == 0);
        check(allow.len == 0);
        break;
    default:
        check(!"router_find returned an unknown status");
    }

    router_match_release(&m);
    router_match_release(&m2);
    check(m.n_params == 0 && m.route == NULL);
    buf_release(&allow);
    free(method);
    free(path);
    return 0;
}
