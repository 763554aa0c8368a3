/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server end to end on loopback: a real libmicrohttpd daemon on port 0,
 * spoken to with plain sockets so that every byte of the answers is visible.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"
#include "http/http.h"

#define FILE_SIZE 1000
#define UPLOAD_SIZE (1024 * 1024)

static struct http_server *srv;
static char file_path[64];
static atomic_int cleanups;

/* ---- handlers ---- */

static void h_hello(struct http_request *req)
{
    http_respond_json(req, 200, "{\"hello\":\"world\"}");
}

static void h_item(struct http_request *req)
{
    json_t *o = json_object();
    const char *x = http_request_query(req, "x"), *y = http_request_query(req, "y");
    json_object_set_new(o, "id", json_string(http_request_param(req, "id")));
    json_object_set_new(o, "x", x ? json_string(x) : json_null());
    json_object_set_new(o, "y", y ? json_string(y) : json_null());
    json_object_set_new(o, "base", json_string(http_request_base_url(req)));
    json_object_set_new(o, "client", json_string(http_request_client_address(req)));
    char *s = json_dumps(o, JSON_COMPACT);
    http_respond_json(req, 200, s);
    free(s);
    json_decref(o);
}

static void h_post_item(struct http_request *req)
{
    struct str b = http_request_body(req);
    char out[64];
    snprintf(out, sizeof(out), "{\"len\":%zu}", b.len);
    http_add_header(req, "Location", "/items/new");
    http_respond_json(req, 201, out);
}

static void h_file(struct http_request *req)
{
    int fd = open(file_path, O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    struct http_file f = { .fd = fd, .size = (uint64_t)st.st_size, .mtime = st.st_mtime,
                           .content_type = "video/iso.segment",
                           .cache_control = "public, max-age=31536000, immutable" };
    http_respond_file(req, &f);
}

struct upload {
    size_t got;
    int in_order;
    int saw_start;
};

static void upload_cleanup(void *p)
{
    free(p);
    atomic_fetch_add(&cleanups, 1);
}

static int upload_body(struct http_request *req, const char *data, size_t len)
{
    struct upload *u = http_request_state(req);
    if (!data) {
        cr_assert_eq(len, 0);
        cr_assert_null(u, "the (NULL, 0) call comes first and once");
        u = xcalloc(1, sizeof(*u));
        u->in_order = 1;
        u->saw_start = 1;
        http_request_set_state(req, u, upload_cleanup);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)data[i] != (unsigned char)((u->got + i) * 7 % 251))
            u->in_order = 0;
    }
    u->got += len;
    return 0;
}

/* A sink that only counts, so that the client's speed alone decides how far ahead it gets. */
static int sink_body(struct http_request *req, const char *data, size_t len)
{
    size_t *got = http_request_state(req);
    if (!data) {
        http_request_set_state(req, xcalloc(1, sizeof(*got)), upload_cleanup);
        return 0;
    }
    *got += len;
    return 0;
}

static void h_upload(struct http_request *req)
{
    struct upload *u = http_request_state(req);
    char out[96];
    snprintf(out, sizeof(out), "{\"got\":%zu,\"in_order\":%s}", u->got,
             u->in_order && u->saw_start ? "true" : "false");
    http_respond_json(req, 200, out);
}

static int limited_body(struct http_request *req, const char *data, size_t len)
{
    if (!data && http_request_content_length(req) > 1000) {
        http_respond_problem(req, 413, "uploads here are at most 1000 bytes");
        return KINO_ETOOBIG;
    }
    return 0;
}

static int midfail_body(struct http_request *req, const char *data, size_t len)
{
    if (!data) {
        http_request_set_state(req, NULL, NULL);
        return 0;
    }
    http_respond_problem(req, 400, "the first chunk is enough to know this body is wrong");
    return KINO_EPROTO;
}

static void h_never(struct http_request *req)
{
    cr_assert_fail("the handler must not run after on_body stopped the request");
}

static void h_noanswer(struct http_request *req)
{
}

static void h_slow(struct http_request *req)
{
    usleep(300 * 1000);
    http_respond_json(req, 200, "{\"slow\":true}");
}

static const struct http_route routes[] = {
    { "GET", "/hello", h_hello, NULL },
    { "GET", "/items/{id}", h_item, NULL },
    { "DELETE", "/items/{id}", h_hello, NULL },
    { "POST", "/items", h_post_item, NULL },
    { "GET", "/files/{*rest}", h_file, NULL },
    { "PUT", "/upload", h_upload, upload_body },
    { "PUT", "/limited", h_never, limited_body },
    { "PUT", "/sink", h_never, sink_body },
    { "POST", "/midfail", h_never, midfail_body },
    { "GET", "/noanswer", h_noanswer, NULL },
    { "GET", "/slow", h_slow, NULL },
};

static void start(void)
{
    snprintf(file_path, sizeof(file_path), "/tmp/kino-http-test-%d", (int)getpid());
    FILE *f = fopen(file_path, "wb");
    for (int i = 0; i < FILE_SIZE; i++)
        fputc(i % 256, f);
    fclose(f);
    struct http_server_config cfg = { .host = "127.0.0.1", .port = 0, .threads = 2,
                                      .max_body_bytes = 1024, .connection_timeout_s = 10 };
    struct kino_err err = { 0 };
    int r = http_server_start(&cfg, routes, sizeof(routes) / sizeof(routes[0]), NULL, &srv, &err);
    cr_assert_eq(r, 0, "start: %s", err.msg);
    cr_assert_neq(http_server_port(srv), 0);
}

static void stop(void)
{
    http_server_free(srv);
    srv = NULL;
    unlink(file_path);
}

TestSuite(server, .init = start, .fini = stop, .timeout = 30);

/* ---- a tiny client ---- */

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(http_server_port(srv)) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

struct resp {
    char raw[UPLOAD_SIZE / 8];
    size_t len;
    unsigned status;
    const char *body; /* into raw */
    size_t body_len;
};

/* Read until EOF (the requests say Connection: close). */
static void read_all(int fd, struct resp *r)
{
    r->len = 0;
    for (;;) {
        ssize_t n = recv(fd, r->raw + r->len, sizeof(r->raw) - 1 - r->len, 0);
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->raw[r->len] = '\0';
    cr_assert(r->len > 12, "no answer");
    r->status = (unsigned)strtoul(r->raw + 9, NULL, 10);
    char *end = strstr(r->raw, "\r\n\r\n");
    cr_assert_not_null(end);
    r->body = end + 4;
    r->body_len = r->len - (size_t)(r->body - r->raw);
}

/* One header's value (copied into out), or NULL. */
static const char *header(const struct resp *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->raw, "\r\n");
    while (p && p < r->body - 2) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, n, "%.*s", (int)(e - v), v);
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static void exchange(const char *request, struct resp *r)
{
    int fd = connect_server();
    cr_assert_eq(send_all(fd, request, strlen(request)), 0);
    read_all(fd, r);
    close(fd);
}

static struct resp R;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- tests ---- */

Test(server, get_json_with_request_id_and_cors)
{
    char v[256];
    exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(header(&R, "Content-Type", v, sizeof(v)), "application/json");
    cr_assert_eq(R.body_len, strlen("{\"hello\":\"world\"}"));
    cr_assert_eq(memcmp(R.body, "{\"hello\":\"world\"}", R.body_len), 0);
    cr_assert_eq(strlen(header(&R, "X-Request-Id", v, sizeof(v))), 16);
    cr_assert_str_eq(header(&R, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    cr_assert_str_eq(header(&R, "Access-Control-Expose-Headers", v, sizeof(v)),
                     "Content-Length, Content-Range, ETag, Location, X-Request-Id");
}

Test(server, echoes_a_sane_request_id_and_replaces_others)
{
    char v[256];
    exchange("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc.DEF_1-2\r\n"
             "Connection: close\r\n\r\n", &R);
    cr_assert_str_eq(header(&R, "X-Request-Id", v, sizeof(v)), "abc.DEF_1-2");
    exchange("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id!\r\n"
             "Connection: close\r\n\r\n", &R);
    cr_assert_eq(strlen(header(&R, "X-Request-Id", v, sizeof(v))), 16);
}

Test(server, unknown_path_is_a_404_problem)
{
    char v[256];
    exchange("GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: rid1\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 404);
    cr_assert_str_eq(header(&R, "Content-Type", v, sizeof(v)), "application/problem+json");
    cr_assert_str_eq(header(&R, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    json_error_t je;
    json_t *o = json_loadb(R.body, R.body_len, 0, &je);
    cr_assert_not_null(o, "%s", R.body);
    const char *keys[] = { "type", "title", "status", "detail", "instance", "request_id" };
    const char *k;
    json_t *val;
    size_t i = 0;
    json_object_foreach(o, k, val) {
        cr_assert_str_eq(k, keys[i], "member order");
        i++;
    }
    cr_assert_eq(i, 6);
    cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "about:blank");
    cr_assert_str_eq(json_string_value(json_object_get(o, "title")), "Not Found");
    cr_assert_eq(json_integer_value(json_object_get(o, "status")), 404);
    cr_assert_str_eq(json_string_value(json_object_get(o, "instance")), "/nope");
    cr_assert_str_eq(json_string_value(json_object_get(o, "request_id")), "rid1");
    json_decref(o);
}

Test(server, wrong_method_is_a_405_with_allow)
{
    char v[256];
    exchange("PATCH /items/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 405);
    cr_assert_str_eq(header(&R, "Allow", v, sizeof(v)), "GET, HEAD, DELETE");
    cr_assert_not_null(strstr(R.body, "\"title\":\"Method Not Allowed\""));
}

Test(server, options_preflight)
{
    char v[256];
    exchange("OPTIONS /items/7 HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\n"
             "Access-Control-Request-Method: DELETE\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 204);
    cr_assert_str_eq(header(&R, "Access-Control-Allow-Methods", v, sizeof(v)),
                     "GET, HEAD, DELETE, OPTIONS");
    cr_assert_str_eq(header(&R, "Access-Control-Allow-Headers", v, sizeof(v)),
                     "Authorization, Content-Type, Range, If-None-Match, X-Request-Id");
    cr_assert_str_eq(header(&R, "Access-Control-Max-Age", v, sizeof(v)), "86400");
    cr_assert_str_eq(header(&R, "Access-Control-Allow-Origin", v, sizeof(v)), "*");
    cr_assert_eq(R.body_len, 0);

    exchange("OPTIONS /items/7 HTTP/1.1\r\nHost: x\r\nAccess-Control-Request-Headers: "
             "x-custom, authorization\r\nConnection: close\r\n\r\n", &R);
    cr_assert_str_eq(header(&R, "Access-Control-Allow-Headers", v, sizeof(v)),
                     "x-custom, authorization");
    exchange("OPTIONS /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 404);
}

Test(server, params_and_query_are_decoded)
{
    exchange("GET /items/a%20b%2Fc?x=1%2B2&y=a+b HTTP/1.1\r\nHost: media.example:8080\r\n"
             "Connection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 404, "a decoded '/' in {id} does not match");
    exchange("GET /items/a%20b?x=1%2B2&y=a+b&z HTTP/1.1\r\nHost: media.example:8080\r\n"
             "Connection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    json_t *o = json_loadb(R.body, R.body_len, 0, NULL);
    cr_assert_not_null(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "id")), "a b");
    cr_assert_str_eq(json_string_value(json_object_get(o, "x")), "1+2");
    cr_assert_str_eq(json_string_value(json_object_get(o, "y")), "a b");
    cr_assert_str_eq(json_string_value(json_object_get(o, "base")), "http://media.example:8080");
    json_decref(o);
}

Test(server, base_url_without_host_is_the_listen_address)
{
    exchange("GET /items/1 HTTP/1.0\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    json_t *o = json_loadb(R.body, R.body_len, 0, NULL);
    char want[64];
    snprintf(want, sizeof(want), "http://127.0.0.1:%u", http_server_port(srv));
    cr_assert_str_eq(json_string_value(json_object_get(o, "base")), want);
    json_decref(o);
}

Test(server, client_address_is_the_peers_ip)
{
    exchange("GET /items/1 HTTP/1.0\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    json_t *o = json_loadb(R.body, R.body_len, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(o, "client")), "127.0.0.1");
    json_decref(o);
}

/* An IPv4 client of a "::" listener arrives as ::ffff:127.0.0.1 and is shown as IPv4. */
Test(server, client_address_of_a_v4_client_on_a_dual_stack_listener_is_ipv4)
{
    struct http_server_config cfg = { .host = "::", .port = 0, .threads = 1 };
    struct http_server *dual = NULL;
    struct kino_err err = { 0 };
    if (http_server_start(&cfg, routes, sizeof(routes) / sizeof(routes[0]), NULL, &dual, &err) < 0)
        cr_skip_test("no IPv6 here: %s", err.msg);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(http_server_port(dual)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    static const char req[] = "GET /items/1 HTTP/1.0\r\n\r\n";
    cr_assert_eq(send_all(fd, req, sizeof(req) - 1), 0);
    static struct resp r; /* large: not on the stack */
    read_all(fd, &r);
    close(fd);
    http_server_free(dual);
    json_t *o = json_loadb(r.body, r.body_len, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(o, "client")), "127.0.0.1");
    json_decref(o);
}

Test(server, head_matches_get_without_body)
{
    char v[256];
    exchange("HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(header(&R, "Content-Length", v, sizeof(v)), "17");
    cr_assert_eq(R.body_len, 0);
}

static void check_file_bytes(uint64_t start, size_t n)
{
    cr_assert_eq(R.body_len, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq((unsigned char)R.body[i], (start + i) % 256, "byte %zu", i);
}

Test(server, file_whole_range_and_conditionals)
{
    char v[256], etag[128], req[512];
    exchange("GET /files/a/b.m4s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(header(&R, "Content-Length", v, sizeof(v)), "1000");
    cr_assert_str_eq(header(&R, "Content-Type", v, sizeof(v)), "video/iso.segment");
    cr_assert_str_eq(header(&R, "Accept-Ranges", v, sizeof(v)), "bytes");
    cr_assert_str_eq(header(&R, "Cache-Control", v, sizeof(v)),
                     "public, max-age=31536000, immutable");
    cr_assert_not_null(header(&R, "Last-Modified", v, sizeof(v)));
    cr_assert(strstr(v, " GMT") != NULL);
    cr_assert_not_null(header(&R, "ETag", etag, sizeof(etag)));
    cr_assert_eq(etag[0], '"');
    cr_assert_not_null(strstr(etag, "3e8-"), "size in hex: %s", etag);
    check_file_bytes(0, FILE_SIZE);

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 206);
    cr_assert_str_eq(header(&R, "Content-Range", v, sizeof(v)), "bytes 10-19/1000");
    cr_assert_str_eq(header(&R, "Content-Length", v, sizeof(v)), "10");
    check_file_bytes(10, 10);

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=-5\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 206);
    cr_assert_str_eq(header(&R, "Content-Range", v, sizeof(v)), "bytes 995-999/1000");
    check_file_bytes(995, 5);

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=990-\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 206);
    check_file_bytes(990, 10);

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 416);
    cr_assert_str_eq(header(&R, "Content-Range", v, sizeof(v)), "bytes */1000");

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,5-6\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 200);
    check_file_bytes(0, FILE_SIZE);

    snprintf(req, sizeof(req), "GET /files/x HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"zz\", W/%s\r\n"
             "Connection: close\r\n\r\n", etag);
    exchange(req, &R);
    cr_assert_eq(R.status, 304);
    cr_assert_eq(R.body_len, 0);
    cr_assert_str_eq(header(&R, "ETag", v, sizeof(v)), etag);
    cr_assert_not_null(header(&R, "Cache-Control", v, sizeof(v)));

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 304);

    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n"
             "Connection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);

    snprintf(req, sizeof(req), "GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n"
             "If-Range: %s\r\nConnection: close\r\n\r\n", etag);
    exchange(req, &R);
    cr_assert_eq(R.status, 206);
    exchange("GET /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nIf-Range: \"old\"\r\n"
             "Connection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    check_file_bytes(0, FILE_SIZE);

    exchange("HEAD /files/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    cr_assert_str_eq(header(&R, "Content-Length", v, sizeof(v)), "1000");
    cr_assert_eq(R.body_len, 0);

    exchange("HEAD /files/x HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 206);
    cr_assert_str_eq(header(&R, "Content-Length", v, sizeof(v)), "100");
    cr_assert_eq(R.body_len, 0);
}

Test(server, buffered_body_within_cap)
{
    char v[64];
    exchange("POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
             "hello", &R);
    cr_assert_eq(R.status, 201);
    cr_assert_str_eq(header(&R, "Location", v, sizeof(v)), "/items/new");
    cr_assert_eq(memcmp(R.body, "{\"len\":5}", 9), 0);
}

Test(server, buffered_body_over_cap_is_413)
{
    /* Declared too big: answered as soon as the headers are in. */
    int fd = connect_server();
    const char *h = "POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n";
    send_all(fd, h, strlen(h));
    read_all(fd, &R);
    close(fd);
    cr_assert_eq(R.status, 413);
    cr_assert_not_null(strstr(R.body, "1024 bytes"));

    /* Chunked: found out while reading; the rest is read and dropped, then the answer. */
    fd = connect_server();
    h = "POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, h, strlen(h));
    char chunk[600];
    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < 4; i++) {
        send_all(fd, "258\r\n", 5);
        send_all(fd, chunk, sizeof(chunk));
        send_all(fd, "\r\n", 2);
    }
    send_all(fd, "0\r\n\r\n", 5);
    read_all(fd, &R);
    close(fd);
    cr_assert_eq(R.status, 413);
    char v[64];
    cr_assert_str_eq(header(&R, "Connection", v, sizeof(v)), "close");
}

Test(server, streaming_body_gets_every_byte_in_order)
{
    char *body = xmalloc(UPLOAD_SIZE);
    for (size_t i = 0; i < UPLOAD_SIZE; i++)
        body[i] = (char)(i * 7 % 251);
    int fd = connect_server();
    char h[200];
    snprintf(h, sizeof(h), "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
             "Connection: close\r\n\r\n", UPLOAD_SIZE);
    send_all(fd, h, strlen(h));
    cr_assert_eq(send_all(fd, body, UPLOAD_SIZE), 0);
    read_all(fd, &R);
    close(fd);
    free(body);
    cr_assert_eq(R.status, 200, "%s", R.raw);
    cr_assert_not_null(strstr(R.body, "{\"got\":1048576,\"in_order\":true}"), "%s", R.body);
    /* NOTIFY_COMPLETED ran the state cleanup (shortly after the answer went out). */
    for (int i = 0; i < 200 && atomic_load(&cleanups) == 0; i++)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&cleanups), 1);
}

Test(server, streaming_body_with_expect_100_continue)
{
    int fd = connect_server();
    const char *h = "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                    "Expect: 100-continue\r\nConnection: close\r\n\r\n";
    send_all(fd, h, strlen(h));
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    cr_assert(n > 0);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "100 Continue"));
    unsigned char b[3] = { 0, 7, 14 };
    send_all(fd, b, 3);
    read_all(fd, &R);
    close(fd);
    cr_assert_eq(R.status, 200);
    cr_assert_not_null(strstr(R.body, "{\"got\":3,\"in_order\":true}"));
}

Test(server, early_413_from_on_body_before_any_data)
{
    int fd = connect_server();
    const char *h = "PUT /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n"
                    "Expect: 100-continue\r\n\r\n";
    send_all(fd, h, strlen(h));
    read_all(fd, &R); /* without sending a byte of the body */
    close(fd);
    cr_assert_eq(R.status, 413);
    cr_assert_null(strstr(R.raw, "100 Continue"));
    cr_assert_not_null(strstr(R.body, "at most 1000 bytes"));
}

Test(server, on_body_stopping_mid_body_answers_and_closes)
{
    int fd = connect_server();
    const char *h = "POST /midfail HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    send_all(fd, h, strlen(h));
    char *body = xcalloc(1, 100000);
    send_all(fd, body, 100000);
    free(body);
    read_all(fd, &R);
    close(fd);
    cr_assert_eq(R.status, 400);
    char v[64];
    cr_assert_str_eq(header(&R, "Connection", v, sizeof(v)), "close");
}

Test(server, client_going_away_mid_body_runs_cleanup)
{
    int fd = connect_server();
    const char *h = "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n";
    send_all(fd, h, strlen(h));
    char body[5000] = { 0 };
    send_all(fd, body, sizeof(body));
    usleep(100 * 1000);
    close(fd);
    for (int i = 0; i < 300 && atomic_load(&cleanups) == 0; i++)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&cleanups), 1);
}

/*
 * A client that streams fast is ahead of the server when it dies: its FIN is queued
 * behind body bytes the server has not read yet. The server must still notice the
 * end once it has read them, and not wait for the connection timeout (10 s here).
 */
Test(server, fast_client_going_away_mid_body_runs_cleanup)
{
    int fd = connect_server();
    const char *h = "PUT /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n";
    cr_assert_eq(send_all(fd, h, strlen(h)), 0);
    size_t block = 1024 * 1024;
    char *body = xcalloc(1, block);
    for (int i = 0; i < 256; i++)
        cr_assert_eq(send_all(fd, body, block), 0, "send: %s", strerror(errno));
    free(body);
    close(fd); /* a FIN, queued behind what the server has not read yet */
    double t0 = now_ms();
    while (atomic_load(&cleanups) == 0 && now_ms() - t0 < 5000)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&cleanups), 1, "no cleanup %.0f ms after the client went away",
                 now_ms() - t0);
}

Test(server, handler_without_answer_is_a_500)
{
    exchange("GET /noanswer HTTP/1.1\r\nHost: x\r\nX-Request-Id: r500\r\nConnection: close\r\n\r\n",
             &R);
    cr_assert_eq(R.status, 500);
    cr_assert_not_null(strstr(R.body, "see the server log for request id r500"), "%s", R.body);
}

Test(server, keep_alive_serves_several_requests)
{
    int fd = connect_server();
    const char *two = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, two, strlen(two));
    read_all(fd, &R);
    close(fd);
    const char *second = strstr(R.body, "HTTP/1.1 200");
    cr_assert_not_null(second, "%s", R.raw);
}

Test(server, port_in_use_names_the_address)
{
    struct http_server_config cfg = { .host = "127.0.0.1", .port = http_server_port(srv) };
    struct http_server *other = NULL;
    struct kino_err err = { 0 };
    int r = http_server_start(&cfg, routes, 1, NULL, &other, &err);
    cr_assert_eq(r, -EADDRINUSE);
    char want[128];
    snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use; ",
             http_server_port(srv));
    cr_assert_not_null(strstr(err.msg, want), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "--listen or KINO_LISTEN"));
}

static void *slow_client(void *arg)
{
    struct resp *r = arg;
    exchange("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", r);
    return NULL;
}

Test(server, graceful_stop_finishes_requests_in_flight)
{
    /* An idle keep-alive connection must not hold the stop for the whole grace period. */
    int idle = connect_server();
    const char *h = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(idle, h, strlen(h));
    char buf[1024];
    cr_assert(recv(idle, buf, sizeof(buf), 0) > 0);

    static struct resp slow;
    pthread_t t;
    pthread_create(&t, NULL, slow_client, &slow);
    usleep(100 * 1000); /* the slow handler is running */
    uint16_t port = http_server_port(srv);
    double t0 = now_ms();
    http_server_stop(srv, 5000);
    double took = now_ms() - t0;
    pthread_join(t, NULL);
    cr_assert_eq(slow.status, 200);
    cr_assert_not_null(strstr(slow.body, "{\"slow\":true}"));
    cr_assert(took < 2000, "stop took %.0f ms", took);
    close(idle);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_neq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "no longer listening");
    close(fd);
    http_server_stop(srv, 0); /* safe twice */
}

Test(server, early_answer_to_a_body_closes_the_connection)
{
    /* A 405 to a PATCH with a body: the body must not be read as the next request. */
    int fd = connect_server();
    const char *h = "PATCH /items/7 HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n"
                    "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, h, strlen(h));
    read_all(fd, &R);
    close(fd);
    cr_assert_eq(R.status, 405);
    cr_assert_null(strstr(R.body, "HTTP/1.1 200"), "%s", R.raw);
}

Test(server, answers_without_a_body_keep_the_connection)
{
    int fd = connect_server();
    const char *two = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                      "OPTIONS /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, two, strlen(two));
    read_all(fd, &R);
    close(fd);
    cr_assert_eq(R.status, 404);
    cr_assert_not_null(strstr(R.raw, "HTTP/1.1 204"), "%s", R.raw);
    cr_assert_not_null(strstr(R.raw, "{\"hello\":\"world\"}"), "%s", R.raw);
}

Test(server, dual_stack_on_any_address)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    if (probe < 0)
        cr_skip_test("no IPv6 here");
    close(probe);
    struct http_server_config cfg = { .host = "::", .port = 0, .threads = 1 };
    struct http_server *s6 = NULL;
    struct kino_err err = { 0 };
    int r = http_server_start(&cfg, routes, 1, NULL, &s6, &err);
    if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT)
        cr_skip_test("IPv6 not usable: %s", err.msg);
    cr_assert_eq(r, 0, "%s", err.msg);
    struct http_server *keep = srv;
    srv = s6; /* connect_server uses srv's port on 127.0.0.1 */
    exchange("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &R);
    cr_assert_eq(R.status, 200);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(http_server_port(s6)),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        const char *h = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        send_all(fd, h, strlen(h));
        read_all(fd, &R);
        cr_assert_eq(R.status, 200);
    }
    close(fd);
    srv = keep;
    http_server_free(s6);
}
