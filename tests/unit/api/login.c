/* SPDX-License-Identifier: MIT */
/*
 * POST /api/v1/auth/login through a real HTTP server in this process, to see
 * what a client cannot: how many Argon2 verifications each answer cost
 * (exactly one for an unknown email, a disabled account and a wrong password;
 * none once rate-limited) and that a hash made at another cost is rehashed
 * after a good login.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "api/login_guard.h"
#include "auth/auth.h"
#include "core/util.h"
#include "db/db.h"
#include "http/http.h"
#include "kino.h"
#include "model/model.h"

static struct kino k;
static struct http_server *srv;
static char dir[] = "/tmp/kino-login-XXXXXX";

static void add_user(const char *email, const char *password, int disabled,
                     struct auth_passwords *hasher)
{
    char hash[AUTH_HASH_MAX];
    struct kino_err err = { 0 };
    struct user_row u;
    cr_assert_eq(auth_password_hash(hasher, password, hash, &err), 0, "%s", err.msg);
    struct db_conn *c = db_acquire(k.db);
    cr_assert_eq(model_user_create(c, email, "", AUTH_ROLE_CREATOR, hash, 1000, &u, &err), 0,
                 "%s", err.msg);
    if (disabled)
        cr_assert_eq(model_user_set_disabled(c, u.id, 1, 1000, &err), 0, "%s", err.msg);
    db_release(c);
}

static void setup(void)
{
    cr_assert(sodium_init() >= 0);
    cr_assert_not_null(mkdtemp(dir));
    config_init(&k.cfg);
    k.cfg.login_limit_account = 3;
    struct kino_err err = { 0 };
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/kino.db", dir);
    cr_assert_eq(db_open(url, 4, &k.db, &err), 0, "%s", err.msg);
    cr_assert_eq(db_migrate(k.db, &err), 0, "%s", err.msg);
    unsigned char secret[AUTH_KEY_BYTES];
    randombytes_buf(secret, sizeof(secret));
    k.keys = auth_keys_new();
    cr_assert_eq(auth_keys_add(k.keys, "test", secret, &err), 0, "%s", err.msg);
    struct auth_config ac;
    auth_config_fastest(&ac);
    cr_assert_eq(auth_passwords_new(&ac, &k.passwords, &err), 0, "%s", err.msg);
    struct login_guard_config lg;
    login_guard_config_init(&lg);
    lg.address_limit = 1000;
    lg.account_limit = k.cfg.login_limit_account;
    k.login_guard = login_guard_new(&lg);

    add_user("ada@example.com", "correct horse", 0, k.passwords);
    add_user("off@example.com", "correct horse", 1, k.passwords);

    size_t n;
    const struct http_route *routes = api_routes(&n);
    struct http_server_config hc = { .host = "127.0.0.1", .port = 0, .threads = 2 };
    cr_assert_eq(http_server_start(&hc, routes, n, &k, &srv, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    http_server_free(srv);
    login_guard_free(k.login_guard);
    auth_passwords_free(k.passwords);
    auth_keys_free(k.keys);
    db_close(k.db);
    fs_remove_tree(dir);
}

TestSuite(login, .init = setup, .fini = teardown, .timeout = 60);

struct answer {
    unsigned status;
    char detail[300];
    char retry_after[16];
};

/* POST the login body over HTTP/1.0 (the server closes after answering). */
static struct answer post_login(const char *email, const char *password)
{
    char body[512], req[1024];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    int n = snprintf(req, sizeof(req),
                     "POST /api/v1/auth/login HTTP/1.0\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(http_server_port(srv)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(send(fd, req, (size_t)n, 0), n);
    static char raw[65536];
    size_t len = 0;
    ssize_t got;
    while ((got = recv(fd, raw + len, sizeof(raw) - 1 - len, 0)) > 0)
        len += (size_t)got;
    close(fd);
    raw[len] = '\0';

    struct answer ans = { 0 };
    cr_assert(len > 12, "no answer");
    ans.status = (unsigned)strtoul(raw + 9, NULL, 10);
    const char *ra = strcasestr(raw, "\r\nRetry-After: ");
    if (ra)
        sscanf(ra + 15, "%15[0-9]", ans.retry_after);
    const char *start = strstr(raw, "\r\n\r\n");
    cr_assert_not_null(start);
    json_t *o = json_loads(start + 4, 0, NULL);
    const char *d = json_string_value(json_object_get(o, "detail"));
    snprintf(ans.detail, sizeof(ans.detail), "%s", d ? d : "");
    json_decref(o);
    return ans;
}

/* The verifications one login cost. */
static uint64_t cost_of(const char *email, const char *password, struct answer *ret)
{
    uint64_t before = auth_password_verifications(k.passwords);
    *ret = post_login(email, password);
    return auth_password_verifications(k.passwords) - before;
}

Test(login, every_failure_costs_one_verification_and_answers_alike)
{
    struct answer wrong, unknown, disabled, good;
    cr_assert_eq(cost_of("ada@example.com", "wrong password", &wrong), 1);
    cr_assert_eq(cost_of("nobody@example.com", "wrong password", &unknown), 1);
    cr_assert_eq(cost_of("off@example.com", "correct horse", &disabled), 1);
    cr_assert_eq(wrong.status, 401);
    cr_assert_eq(unknown.status, 401);
    cr_assert_eq(disabled.status, 401);
    cr_assert_str_eq(wrong.detail, "the email or password is wrong");
    cr_assert_str_eq(unknown.detail, wrong.detail);
    cr_assert_str_eq(disabled.detail, wrong.detail);
    cr_assert_eq(cost_of("ADA@example.com", "correct horse", &good), 1);
    cr_assert_eq(good.status, 200);
}

Test(login, a_rate_limited_attempt_verifies_nothing)
{
    struct answer a;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(cost_of("nobody@example.com", "wrong password", &a), 1);
    cr_assert_eq(cost_of("Nobody@Example.com", "wrong password", &a), 0, "the email's case");
    cr_assert_eq(a.status, 429);
    long secs = strtol(a.retry_after, NULL, 10);
    cr_assert(secs > 0 && secs <= 15 * 60, "Retry-After: '%s'", a.retry_after);
    /* The limit is the account's: a good password of another account still goes through. */
    cr_assert_eq(cost_of("ada@example.com", "correct horse", &a), 1);
    cr_assert_eq(a.status, 200);
}

Test(login, a_good_login_clears_the_accounts_failures)
{
    struct answer a;
    cost_of("ada@example.com", "wrong password", &a);
    cost_of("ada@example.com", "wrong password", &a);
    cr_assert_eq(cost_of("ada@example.com", "correct horse", &a), 1);
    cr_assert_eq(a.status, 200);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cost_of("ada@example.com", "wrong password", &a), 1);
        cr_assert_eq(a.status, 401, "failure %d after the good login", i + 1);
    }
    cost_of("ada@example.com", "wrong password", &a);
    cr_assert_eq(a.status, 429);
}

Test(login, a_hash_of_another_cost_is_rehashed_after_a_good_login)
{
    struct auth_config older;
    auth_config_fastest(&older);
    older.pw_opslimit += 1;
    struct auth_passwords *old_hasher;
    cr_assert_eq(auth_passwords_new(&older, &old_hasher, NULL), 0);
    add_user("old@example.com", "correct horse", 0, old_hasher);
    auth_passwords_free(old_hasher);

    struct user_row u;
    struct db_conn *c = db_acquire(k.db);
    cr_assert_eq(model_user_get_by_email(c, "old@example.com", &u, NULL), 0);
    cr_assert_eq(auth_password_needs_rehash(k.passwords, u.password_hash), 1);
    struct answer a;
    cr_assert_eq(cost_of("old@example.com", "wrong password", &a), 1);
    cr_assert_eq(model_user_get_by_email(c, "old@example.com", &u, NULL), 0);
    cr_assert_eq(auth_password_needs_rehash(k.passwords, u.password_hash), 1,
                 "a wrong password changes nothing");
    cr_assert_eq(cost_of("old@example.com", "correct horse", &a), 1);
    cr_assert_eq(a.status, 200);
    cr_assert_eq(model_user_get_by_email(c, "old@example.com", &u, NULL), 0);
    db_release(c);
    cr_assert_eq(auth_password_needs_rehash(k.passwords, u.password_hash), 0);
    cr_assert_eq(cost_of("old@example.com", "correct horse", &a), 1);
    cr_assert_eq(a.status, 200, "the new hash verifies");
}
