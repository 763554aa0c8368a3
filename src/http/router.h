/* SPDX-License-Identifier: MIT */
/*
 * Private to http/: the route table matcher and percent-decoding. Kept free of
 * libmicrohttpd so that tests/unit/http/router.c can drive it directly.
 */
#ifndef KINO_HTTP_ROUTER_H
#define KINO_HTTP_ROUTER_H

#include <stddef.h>

#include "core/buf.h"
#include "http/http.h"

#define ROUTER_MAX_PARAMS 8

struct router_param {
    const char *name; /* borrowed from the route pattern, not NUL-terminated */
    size_t name_len;
    char *value;      /* decoded, owned by the match */
};

struct router_match {
    const struct http_route *route;
    unsigned n_params;
    struct router_param params[ROUTER_MAX_PARAMS];
};

enum router_status {
    ROUTER_FOUND = 0,    /* ret_match holds the route and its parameters */
    ROUTER_NOT_FOUND,    /* no pattern matches the path: 404 */
    ROUTER_NO_METHOD,    /* a pattern matches but not for this method: 405 */
};

/*
 * Find the first route whose pattern matches `path` (raw, as sent, without the
 * query) and whose method is `method` (a GET route also matches HEAD). When
 * `allow` is not NULL it receives the methods the path answers ("GET, HEAD, POST"),
 * for Allow and preflight answers. A path whose parameter decodes to something
 * unsafe ("/" or NUL in `{name}`, NUL or a "."/".." segment in `{*rest}`, a bad
 * %-escape) does not match that pattern. Trailing slashes are not ignored.
 * Release ret_match with router_match_release in every case.
 */
enum router_status router_find(const struct http_route *routes, size_t n_routes,
                               const char *method, const char *path,
                               struct router_match *ret_match, struct buf *allow);

/* A decoded parameter of the match, or NULL. */
const char *router_match_param(const struct router_match *m, const char *name);

/* Free the parameter values; leaves an empty match. Accepts NULL. */
void router_match_release(struct router_match *m);

/*
 * Percent-decode `len` bytes of `s` (with `plus_is_space`, '+' becomes ' ', as in
 * query strings). Returns a NUL-terminated copy (caller frees with free()), or
 * NULL when an escape is malformed or decodes to a NUL byte.
 */
char *http_url_decode(const char *s, size_t len, int plus_is_space);

#endif
