/* SPDX-License-Identifier: MIT */
/* Route matching: parameters, {*rest}, 404 against 405, decoding and what is refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/router.h"

static void h(struct http_request *req)
{
}

static const struct http_route routes[] = {
    { "GET", "/api/v1/media", h, NULL },
    { "POST", "/api/v1/media", h, NULL },
    { "GET", "/api/v1/media/{id}", h, NULL },
    { "DELETE", "/api/v1/media/{id}", h, NULL },
    { "GET", "/api/v1/media/{id}/renditions/{name}", h, NULL },
    { "GET", "/media/{id}/{*rest}", h, NULL },
    { "PUT", "/", h, NULL },
};
#define N (sizeof(routes) / sizeof(routes[0]))

static enum router_status find(const char *method, const char *path, struct router_match *m)
{
    return router_find(routes, N, method, path, m, NULL);
}

Test(router, literal_and_method)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/api/v1/media", &m), ROUTER_FOUND);
    cr_assert_eq(m.route, &routes[0]);
    router_match_release(&m);
    cr_assert_eq(find("POST", "/api/v1/media", &m), ROUTER_FOUND);
    cr_assert_eq(m.route, &routes[1]);
    cr_assert_eq(m.n_params, 0);
    router_match_release(&m);
    cr_assert_eq(find("PUT", "/", &m), ROUTER_FOUND);
    router_match_release(&m);
}

Test(router, params)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/api/v1/media/abc123/renditions/720p", &m), ROUTER_FOUND);
    cr_assert_eq(m.route, &routes[4]);
    cr_assert_str_eq(router_match_param(&m, "id"), "abc123");
    cr_assert_str_eq(router_match_param(&m, "name"), "720p");
    cr_assert_null(router_match_param(&m, "nope"));
    router_match_release(&m);
    cr_assert_eq(m.n_params, 0);
}

Test(router, rest_matches_one_or_more_segments)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/media/x1/hls/720p/seg-3.m4s", &m), ROUTER_FOUND);
    cr_assert_str_eq(router_match_param(&m, "id"), "x1");
    cr_assert_str_eq(router_match_param(&m, "rest"), "hls/720p/seg-3.m4s");
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1/master.m3u8", &m), ROUTER_FOUND);
    cr_assert_str_eq(router_match_param(&m, "rest"), "master.m3u8");
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1/", &m), ROUTER_NOT_FOUND, "rest is never empty");
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
}

Test(router, rest_refuses_dot_segments_and_nul)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/media/x1/../../etc/passwd", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1/a/%2e%2e/b", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1/./a", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1/a%00b", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/media/x1/a..b/c.", &m), ROUTER_FOUND, "dots inside names are fine");
    router_match_release(&m);
}

Test(router, not_found_against_method_not_allowed)
{
    struct router_match m;
    struct buf allow = BUF_INIT(256);
    cr_assert_eq(router_find(routes, N, "PATCH", "/api/v1/media/abc", &m, &allow), ROUTER_NO_METHOD);
    cr_assert_str_eq(allow.ptr, "GET, HEAD, DELETE");
    router_match_release(&m);
    buf_reset(&allow);
    cr_assert_eq(router_find(routes, N, "DELETE", "/api/v1/media", &m, &allow), ROUTER_NO_METHOD);
    cr_assert_str_eq(allow.ptr, "GET, HEAD, POST");
    router_match_release(&m);
    buf_reset(&allow);
    cr_assert_eq(router_find(routes, N, "GET", "/api/v1/nothing", &m, &allow), ROUTER_NOT_FOUND);
    cr_assert_str_eq(allow.ptr, "");
    router_match_release(&m);
    buf_reset(&allow);
    /* With an allow buffer the match is still returned. */
    cr_assert_eq(router_find(routes, N, "DELETE", "/api/v1/media/q", &m, &allow), ROUTER_FOUND);
    cr_assert_eq(m.route, &routes[3]);
    cr_assert_str_eq(router_match_param(&m, "id"), "q");
    router_match_release(&m);
    buf_release(&allow);
}

Test(router, percent_decoding)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/api/v1/media/a%20b%C3%A9+c", &m), ROUTER_FOUND);
    cr_assert_str_eq(router_match_param(&m, "id"), "a b\xc3\xa9+c", "'+' is literal in paths");
    router_match_release(&m);
    cr_assert_eq(find("GET", "/api/v1/media/%zz", &m), ROUTER_NOT_FOUND, "bad escape");
    router_match_release(&m);
    cr_assert_eq(find("GET", "/api/v1/media/ab%4", &m), ROUTER_NOT_FOUND, "short escape");
    router_match_release(&m);
    cr_assert_eq(find("GET", "/api/v1/media/a%00", &m), ROUTER_NOT_FOUND, "NUL");
    router_match_release(&m);
}

Test(router, decoded_slash_in_param_is_refused)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/api/v1/media/a%2Fb", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/api/v1/media/a%2fb/renditions/x", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
}

Test(router, trailing_slash_and_empty_segments_do_not_match)
{
    struct router_match m;
    cr_assert_eq(find("GET", "/api/v1/media/", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/api/v1/media//renditions/x", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "/api/v1//media", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "api/v1/media", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
    cr_assert_eq(find("GET", "", &m), ROUTER_NOT_FOUND);
    router_match_release(&m);
}

Test(router, head_matches_get)
{
    struct router_match m;
    cr_assert_eq(find("HEAD", "/api/v1/media/zz", &m), ROUTER_FOUND);
    cr_assert_eq(m.route, &routes[2]);
    router_match_release(&m);
    cr_assert_eq(find("HEAD", "/", &m), ROUTER_NO_METHOD, "only GET routes answer HEAD");
    router_match_release(&m);
}

Test(router, url_decode)
{
    char *s = http_url_decode("a+b%2B%41", 9, 1);
    cr_assert_str_eq(s, "a b+A");
    free(s);
    s = http_url_decode("a+b", 3, 0);
    cr_assert_str_eq(s, "a+b");
    free(s);
    s = http_url_decode("", 0, 1);
    cr_assert_str_eq(s, "");
    free(s);
    cr_assert_null(http_url_decode("%", 1, 1));
    cr_assert_null(http_url_decode("%0", 2, 1));
    cr_assert_null(http_url_decode("%g0", 3, 1));
}
