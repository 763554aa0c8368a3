/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server on libmicrohttpd: listening socket, epoll thread pool, the
 * access handler that routes, buffers or streams bodies and runs handlers, the
 * per-request state freed in NOTIFY_COMPLETED with one JSON log line, and the
 * graceful stop. Request accessors live here too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "http/internal.h"
#include "core/banned.h"

#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_TIMEOUT_S 60
/*
 * MHD 0.9.75 refuses MHD_queue_response while a body is being received, so an
 * answer given mid-body can only go out once the body has been read. We read
 * and drop up to this much more before cutting the connection without an answer.
 */
#define DISCARD_MAX (16u * 1024 * 1024)

/* ---- request lifecycle ---- */

static int id_is_sane(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HTTP_REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void make_request_id(char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        out[i] = alphabet[raw[i] & 63];
    out[sizeof(raw)] = '\0';
}

static int64_t parse_content_length(struct MHD_Connection *conn)
{
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return -1;
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0)
        return -1;
    return (int64_t)n;
}

/* Declared or chunked body. */
static int request_has_body(struct http_request *req)
{
    return req->content_length > 0 ||
           MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

static struct http_request *request_new(struct http_server *srv, struct MHD_Connection *conn,
                                        const char *url, const char *method)
{
    struct http_request *req = xcalloc(1, sizeof(*req));
    req->srv = srv;
    req->conn = conn;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    req->fd = ci ? ci->connect_fd : -1;
    req->method = xstrdup(method);
    req->path = xstrdup(url);
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (id && id_is_sane(id))
        snprintf(req->id, sizeof(req->id), "%s", id);
    else
        make_request_id(req->id);
    req->content_length = parse_content_length(conn);
    buf_init(&req->body, srv->max_body_bytes);
    return req;
}

static void request_free(struct http_request *req)
{
    if (!req)
        return;
    if (req->cleanup)
        req->cleanup(req->state);
    if (req->response)
        MHD_destroy_response(req->response);
    while (req->headers) {
        struct http_header *h = req->headers;
        req->headers = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    while (req->allocs) {
        struct http_alloc *a = req->allocs;
        req->allocs = a->next;
        free(a->ptr);
        free(a);
    }
    router_match_release(&req->match);
    buf_release(&req->body);
    free(req->base_url);
    free(req->method);
    free(req->path);
    free(req);
}

static enum MHD_Result queue_staged(struct http_request *req)
{
    struct MHD_Response *resp = req->response;
    req->response = NULL;
    req->queued = 1;
    /* MHD honours "Connection: close" in the answer and closes after sending it. */
    if (req->close_after || atomic_load(&req->srv->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(req->conn, req->status, resp);
    MHD_destroy_response(resp);
    if (r != MHD_YES)
        log_msg(LOG_ERROR, req->id, "libmicrohttpd refused the %u answer; closing", req->status);
    return r;
}

static void answer_unanswered(struct http_request *req)
{
    log_msg(LOG_ERROR, req->id, "the handler for %s %s returned without answering", req->method,
            req->path);
    char detail[200];
    snprintf(detail, sizeof(detail),
             "the server failed to answer this request; see the server log for request id %s",
             req->id);
    http_respond_problem(req, 500, detail);
}

static void answer_preflight(struct http_request *req, const char *allow)
{
    char methods[512];
    snprintf(methods, sizeof(methods), "%s, OPTIONS", allow);
    http_add_header(req, "Allow", methods);
    http_add_header(req, "Access-Control-Allow-Methods", methods);
    const char *asked = http_request_header(req, "Access-Control-Request-Headers");
    http_add_header(req, "Access-Control-Allow-Headers",
                    asked && *asked ? asked
                                    : "Authorization, Content-Type, Range, If-None-Match, "
                                      "X-Request-Id");
    http_add_header(req, "Access-Control-Max-Age", "86400");
    http_respond_empty(req, 204);
}

/*
 * An answer staged on the first call. With a body coming, queue it now: MHD then
 * skips the body, and it closes the connection after the answer so that a body
 * sent anyway is not read as the next request. Without a body, wait for MHD's
 * second call: an answer queued on the first call also closes, and would cost
 * keep-alive on every 404 and preflight.
 */
static enum MHD_Result answer_early(struct http_request *req)
{
    if (!request_has_body(req))
        return MHD_YES;
    req->close_after = 1;
    return queue_staged(req);
}

/* First call: headers are in. Route, and answer at once what needs no body. */
static enum MHD_Result start_request(struct http_request *req)
{
    struct http_server *srv = req->srv;
    struct buf allow = BUF_INIT(512);
    enum router_status st =
        router_find(srv->routes, srv->n_routes, req->method, req->path, &req->match, &allow);
    if (st != ROUTER_FOUND) {
        char detail[700];
        if (st == ROUTER_NOT_FOUND) {
            http_respond_problem(req, 404, "no such path on this server; see the API reference");
        } else if (strcmp(req->method, "OPTIONS") == 0) {
            answer_preflight(req, allow.ptr);
        } else {
            http_add_header(req, "Allow", allow.ptr);
            snprintf(detail, sizeof(detail), "%s is not allowed here; this path answers %s",
                     req->method, allow.ptr);
            http_respond_problem(req, 405, detail);
        }
        buf_release(&allow);
        return answer_early(req);
    }
    buf_release(&allow);

    const struct http_route *route = req->match.route;
    if (route->on_body) {
        int r = route->on_body(req, NULL, 0);
        if (r < 0 || req->responded) {
            if (!req->responded)
                answer_unanswered(req);
            return answer_early(req);
        }
    } else if (req->content_length > 0 && (uint64_t)req->content_length > srv->max_body_bytes) {
        char detail[160];
        snprintf(detail, sizeof(detail),
                 "the request body is larger than %zu bytes; send a smaller body",
                 srv->max_body_bytes);
        http_respond_problem(req, 413, detail);
        return answer_early(req);
    }
    return MHD_YES;
}

/*
 * MHD 0.9.75 with epoll is edge-triggered and takes a short recv() to mean the
 * socket is drained: it then waits for the next edge before reading again. When a
 * fast client dies, its FIN sits in our receive queue behind body bytes we have not
 * read yet, so the edge for it has already fired; the recv() that takes the last of
 * those bytes is short, and MHD never makes the recv() that would return 0. The
 * connection then sits in CLOSE-WAIT and the request stays in flight until the
 * connection timeout. So after each chunk we look for the peer's FIN ourselves and,
 * if it is there, make a fresh edge: shutdown(SHUT_RD) changes nothing on a socket
 * that already got a FIN, but wakes its epoll waiters, so MHD reads, gets 0 and ends
 * the request as a client abort, as it would have on its own. Reading more or less
 * per call, or a larger read buffer, cannot help: the last read of a body is short
 * whatever the size. One poll() per chunk (~32 KiB) costs nothing measurable.
 */
static void wake_on_peer_close(struct http_request *req)
{
    struct pollfd p = { .fd = req->fd, .events = POLLRDHUP };
    if (req->fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        (void)shutdown(req->fd, SHUT_RD);
}

/* A chunk of body; *len is set to 0 (all consumed) unless the connection is cut. */
static enum MHD_Result take_body(struct http_request *req, const char *data, size_t *len)
{
    size_t n = *len;
    *len = 0;
    if (req->discarding) {
        req->discarded += n;
        if (req->discarded > DISCARD_MAX) {
            log_msg(LOG_WARN, req->id, "dropping the connection: %" PRIu64
                    " more body bytes after the answer", req->discarded);
            return MHD_NO;
        }
        return MHD_YES;
    }
    const struct http_route *route = req->match.route;
    if (route->on_body) {
        int r = route->on_body(req, data, n);
        if (r < 0 || req->responded) {
            if (!req->responded)
                answer_unanswered(req);
            req->discarding = 1;
            req->close_after = 1;
        }
        return MHD_YES;
    }
    if (buf_add(&req->body, data, n) < 0) {
        char detail[160];
        snprintf(detail, sizeof(detail),
                 "the request body is larger than %zu bytes; send a smaller body",
                 req->srv->max_body_bytes);
        http_respond_problem(req, 413, detail);
        buf_release(&req->body);
        req->discarding = 1;
        req->close_after = 1;
    }
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req) {
        req = request_new(srv, conn, url, method);
        *con_cls = req;
        atomic_fetch_add(&srv->in_flight, 1);
        enum MHD_Result r = start_request(req);
        if (r == MHD_YES && !req->queued && request_has_body(req))
            wake_on_peer_close(req);
        return r;
    }
    if (req->queued)
        return MHD_YES; /* not expected: MHD stops calling once answered */
    if (*upload_data_size) {
        enum MHD_Result r = take_body(req, upload_data, upload_data_size);
        if (r == MHD_YES)
            wake_on_peer_close(req);
        return r;
    }

    /* The whole request is in. */
    if (!req->responded) {
        req->match.route->handler(req);
        if (!req->responded)
            answer_unanswered(req);
    }
    return queue_staged(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;

    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - req->started.tv_sec) * 1e3 +
                (double)(now.tv_nsec - req->started.tv_nsec) / 1e6;
    char method[32], path[1024], fields[1400];
    static const char *const ends[] = {
        [MHD_REQUEST_TERMINATED_COMPLETED_OK] = NULL,
        [MHD_REQUEST_TERMINATED_WITH_ERROR] = "error",
        [MHD_REQUEST_TERMINATED_TIMEOUT_REACHED] = "timeout",
        [MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN] = "server shutdown",
        [MHD_REQUEST_TERMINATED_READ_ERROR] = "client went away",
        [MHD_REQUEST_TERMINATED_CLIENT_ABORT] = "client went away",
    };
    const char *end = (unsigned)toe < sizeof(ends) / sizeof(ends[0]) ? ends[toe] : "error";
    snprintf(fields, sizeof(fields),
             "\"method\":\"%s\",\"path\":\"%s\",\"status\":%u,\"bytes\":%" PRIu64
             ",\"ms\":%.1f%s%s%s",
             log_json_escape(req->method, method, sizeof(method)),
             log_json_escape(req->path, path, sizeof(path)), req->queued ? req->status : 0,
             req->queued ? req->bytes : 0, ms, end ? ",\"end\":\"" : "", end ? end : "",
             end ? "\"" : "");
    log_fields(LOG_INFO, req->id, "request", fields);
    request_free(req);
    atomic_fetch_sub(&srv->in_flight, 1);
}

/* Keep the path raw: route parameters are decoded per segment, after splitting on '/'. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_WARN, NULL, "libmicrohttpd: %s", msg);
}

/* ---- server ---- */

/*
 * We bind the socket ourselves and hand it to MHD (MHD_OPTION_LISTEN_SOCKET):
 * MHD_start_daemon only returns NULL, and errno is not reliable after it, but
 * the caller must learn -EADDRINUSE and the like.
 */
static int open_listener(const struct http_server_config *cfg, struct http_server *srv,
                         struct kino_err *err)
{
    const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
    int v6 = strchr(host, ':') != NULL;
    char shown[80];
    snprintf(shown, sizeof(shown), v6 ? "[%s]:%u" : "%s:%u", host, (unsigned)cfg->port);
    static const char hint[] = "choose another address with --listen or KINO_LISTEN";

    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)cfg->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return kino_err_set(err, -EADDRNOTAVAIL, "cannot listen on %s: %s; %s", shown,
                            gai_strerror(g), hint);

    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        freeaddrinfo(res);
        return kino_err_set(err, -e, "cannot listen on %s: %s; %s", shown, strerror(e), hint);
    }
    int one = 1, zero = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* "::" means every address, IPv4 included, whatever net.ipv6.bindv6only says. */
    if (res->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        return kino_err_set(err, -e, "cannot listen on %s: %s; %s", shown, strerror(e), hint);
    }
    freeaddrinfo(res);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char num[INET6_ADDRSTRLEN] = "127.0.0.1";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            srv->port = ntohs(a->sin6_port);
            inet_ntop(AF_INET6, &a->sin6_addr, num, sizeof(num));
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            srv->port = ntohs(a->sin_port);
            inet_ntop(AF_INET, &a->sin_addr, num, sizeof(num));
        }
    }
    snprintf(srv->listen_addr, sizeof(srv->listen_addr), ss.ss_family == AF_INET6 ? "[%s]:%u"
             : "%s:%u", num, (unsigned)srv->port);
    srv->listen_fd = fd;
    return 0;
}

int http_server_start(const struct http_server_config *cfg, const struct http_route *routes,
                      size_t n_routes, void *app, struct http_server **ret_server,
                      struct kino_err *err)
{
    if (sodium_init() < 0)
        return kino_err_set(err, KINO_EINTERNAL, "libsodium failed to initialise");
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    srv->routes = routes;
    srv->n_routes = n_routes;
    srv->app = app;
    srv->max_body_bytes = cfg->max_body_bytes ? cfg->max_body_bytes : DEFAULT_MAX_BODY;
    srv->listen_fd = -1;
    atomic_init(&srv->in_flight, 0);
    atomic_init(&srv->stopping, 0);

    int r = open_listener(cfg, srv, err);
    if (r < 0) {
        free(srv);
        return r;
    }
    unsigned threads = cfg->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    unsigned timeout = cfg->connection_timeout_s ? cfg->connection_timeout_s : DEFAULT_TIMEOUT_S;
    /* MHD_USE_ITC lets MHD_quiesce_daemon wake the pool threads to drop the listener. */
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    /* A pool of one is no pool, and MHD warns about it: pass the option only for two or more. */
    struct MHD_OptionItem pool[] = {
        { threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)threads, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv,
        /* First, or MHD prints its early messages with its own logger on stderr. */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->listen_fd,
        MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)timeout,
        /* 64 KiB per connection: room for long bearer tokens and cookies in the headers. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
        MHD_OPTION_END);
    if (!srv->daemon) {
        close(srv->listen_fd);
        r = kino_err_set(err, KINO_EINTERNAL,
                         "libmicrohttpd could not start on %s; see the log above",
                         srv->listen_addr);
        free(srv);
        return r;
    }
    srv->listen_fd = -1; /* MHD's now */
    *ret_server = srv;
    return 0;
}

uint16_t http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv, unsigned grace_ms)
{
    if (!srv || srv->stopped)
        return;
    srv->stopped = 1;
    atomic_store(&srv->stopping, 1);
    /* Quiesce hands the listening socket back: no new connections from here on. */
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Idle keep-alive connections count in MHD's own connection total, so we wait on
     * our count of requests in flight instead. */
    struct timespec start, now, tick = { 0, 5 * 1000 * 1000 };
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (atomic_load(&srv->in_flight) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) * 1e3 +
                         (double)(now.tv_nsec - start.tv_nsec) / 1e6;
        if (elapsed >= grace_ms)
            break;
        nanosleep(&tick, NULL);
    }
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv, 0);
    free(srv);
}

/* ---- request accessors ---- */

void *http_request_app(struct http_request *req)
{
    return req->srv->app;
}

const char *http_request_id(struct http_request *req)
{
    return req->id;
}

const char *http_request_method(struct http_request *req)
{
    return req->method;
}

const char *http_request_path(struct http_request *req)
{
    return req->path;
}

const char *http_request_param(struct http_request *req, const char *name)
{
    return router_match_param(&req->match, name);
}

static const char *keep(struct http_request *req, char *s)
{
    struct http_alloc *a = xmalloc(sizeof(*a));
    a->ptr = s;
    a->next = req->allocs;
    req->allocs = a;
    return s;
}

struct query_lookup {
    const char *name;
    const char *raw;
    int found;
};

static enum MHD_Result find_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    struct query_lookup *q = cls;
    char *k = http_url_decode(key, strlen(key), 1);
    int same = k && strcmp(k, q->name) == 0;
    free(k);
    if (!same)
        return MHD_YES;
    q->raw = value ? value : "";
    q->found = 1;
    return MHD_NO;
}

const char *http_request_query(struct http_request *req, const char *name)
{
    /* Arguments arrive still escaped (see keep_escaped); decode the key and the value. */
    struct query_lookup q = { name, NULL, 0 };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_arg, &q);
    if (!q.found)
        return NULL;
    char *v = http_url_decode(q.raw, strlen(q.raw), 1);
    return v ? keep(req, v) : NULL;
}

const char *http_request_header(struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int64_t http_request_content_length(struct http_request *req)
{
    return req->content_length;
}

struct str http_request_body(struct http_request *req)
{
    return (struct str){ req->body.ptr, req->body.len };
}

static int host_is_sane(const char *h)
{
    if (!*h || strlen(h) > 255)
        return 0;
    for (; *h; h++) {
        char c = *h;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'))
            return 0;
    }
    return 1;
}

const char *http_request_base_url(struct http_request *req)
{
    if (!req->base_url) {
        const char *host = http_request_header(req, "Host");
        struct buf b = BUF_INIT(512);
        (void)buf_addf(&b, "http://%s", host && host_is_sane(host) ? host
                                                                   : req->srv->listen_addr);
        req->base_url = buf_detach(&b);
    }
    return req->base_url;
}

const char *http_request_client_address(struct http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char text[INET6_ADDRSTRLEN] = "unknown";
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
                  sizeof(text));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        /* "::ffff:192.0.2.7" is an IPv4 client: one client, one key, whatever the listener. */
        if (IN6_IS_ADDR_V4MAPPED(a6))
            inet_ntop(AF_INET, &a6->s6_addr[12], text, sizeof(text));
        else
            inet_ntop(AF_INET6, a6, text, sizeof(text));
    }
    return keep(req, xstrdup(text));
}

void http_request_set_state(struct http_request *req, void *state, void (*cleanup)(void *state))
{
    req->state = state;
    req->cleanup = cleanup;
}

void *http_request_state(struct http_request *req)
{
    return req->state;
}
