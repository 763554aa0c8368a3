/* SPDX-License-Identifier: MIT */
/*
 * Route matching (see router.h): literal segments compared raw, `{name}` one
 * non-empty segment, `{*rest}` the remaining segments; parameters are decoded
 * and checked here so that handlers never see a smuggled "/" or NUL.
 */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/banned.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *http_url_decode(const char *s, size_t len, int plus_is_space)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3)
                goto bad;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                goto bad;
            c = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0')
            goto bad;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

void router_match_release(struct router_match *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->n_params; i++)
        free(m->params[i].value);
    m->n_params = 0;
    m->route = NULL;
}

const char *router_match_param(const struct router_match *m, const char *name)
{
    size_t n = strlen(name);
    for (unsigned i = 0; i < m->n_params; i++) {
        if (m->params[i].name_len == n && memcmp(m->params[i].name, name, n) == 0)
            return m->params[i].value;
    }
    return NULL;
}

static int add_param(struct router_match *m, const char *name, size_t name_len, char *value)
{
    if (m->n_params == ROUTER_MAX_PARAMS) {
        free(value);
        return -1;
    }
    m->params[m->n_params++] = (struct router_param){ name, name_len, value };
    return 0;
}

/* "." and ".." segments would let a {*rest} path climb out of the directory it names. */
static int has_dot_segment(const char *s)
{
    while (*s) {
        const char *end = strchr(s, '/');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 1;
        if (!end)
            break;
        s = end + 1;
    }
    return 0;
}

/* 1 when `pattern` matches `path`, with the parameters in `m`; 0 otherwise (m emptied). */
static int match_pattern(const char *pattern, const char *path, struct router_match *m)
{
    const char *p = pattern, *u = path;
    if (*p != '/' || *u != '/')
        return 0;
    while (*p) {
        /* both at a '/' */
        if (*u != '/')
            goto fail;
        p++;
        u++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        const char *uend = strchr(u, '/');
        size_t ulen = uend ? (size_t)(uend - u) : strlen(u);

        if (plen >= 3 && p[0] == '{' && p[1] == '*' && p[plen - 1] == '}' && !pend) {
            size_t rest_len = strlen(u);
            if (rest_len == 0)
                goto fail;
            char *v = http_url_decode(u, rest_len, 0);
            if (!v || has_dot_segment(v) || add_param(m, p + 2, plen - 3, v) < 0) {
                free(v);
                goto fail;
            }
            return 1;
        }
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (ulen == 0)
                goto fail;
            char *v = http_url_decode(u, ulen, 0);
            if (!v || strchr(v, '/')) {
                free(v);
                goto fail;
            }
            if (add_param(m, p + 1, plen - 2, v) < 0)
                goto fail;
        } else if (plen != ulen || memcmp(p, u, plen) != 0) {
            goto fail;
        }
        p += plen;
        u += ulen;
    }
    if (*u == '\0')
        return 1;
fail:
    router_match_release(m);
    return 0;
}

static int method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return 1;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

static void allow_add(struct buf *allow, const char *method)
{
    /* The list is short; a linear search for duplicates is fine. */
    size_t n = strlen(method);
    const char *s = allow->ptr;
    while (*s) {
        const char *end = strstr(s, ", ");
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && memcmp(s, method, n) == 0)
            return;
        if (!end)
            break;
        s = end + 2;
    }
    if (allow->len)
        (void)buf_adds(allow, ", ");
    (void)buf_adds(allow, method);
}

enum router_status router_find(const struct http_route *routes, size_t n_routes,
                               const char *method, const char *path,
                               struct router_match *ret_match, struct buf *allow)
{
    int path_known = 0;
    memset(ret_match, 0, sizeof(*ret_match));
    for (size_t i = 0; i < n_routes; i++) {
        struct router_match m = { 0 };
        if (!match_pattern(routes[i].pattern, path, &m))
            continue;
        path_known = 1;
        if (allow) {
            allow_add(allow, routes[i].method);
            if (strcmp(routes[i].method, "GET") == 0)
                allow_add(allow, "HEAD");
        }
        if (!ret_match->route && method_matches(routes[i].method, method)) {
            *ret_match = m;
            ret_match->route = &routes[i];
            if (!allow)
                return ROUTER_FOUND;
        } else {
            router_match_release(&m);
        }
    }
    if (ret_match->route)
        return ROUTER_FOUND;
    return path_known ? ROUTER_NO_METHOD : ROUTER_NOT_FOUND;
}
