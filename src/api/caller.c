/* SPDX-License-Identifier: MIT */
/* Who is calling: the Authorization header to an account (see api_internal.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"
#include "core/util.h"
#include "db/db.h"
#include "core/banned.h"

/* RFC 6750 §3: the challenge a 401 carries; `error` only when a credential was sent. */
static void answer_401(struct http_request *req, int credential_sent, const char *detail)
{
    http_add_header(req, "WWW-Authenticate",
                    credential_sent ? "Bearer realm=\"kino\", error=\"invalid_token\""
                                    : "Bearer realm=\"kino\"");
    http_respond_problem(req, 401, detail);
}

/* The account behind a verified credential, if it may still act. */
static int load_account(struct http_request *req, struct db_conn *c, const char *user_id,
                        struct api_caller *ret)
{
    struct user_row u;
    struct kino_err err = { 0 };
    int rc = model_user_get(c, user_id, &u, &err);
    if (rc == KINO_ENOTFOUND || (rc == 0 && u.disabled)) {
        answer_401(req, 1, "this account is disabled or no longer exists; ask an admin");
        return KINO_EINVAL;
    }
    if (rc < 0) {
        http_respond_error(req, rc, &err);
        return rc;
    }
    ret->role = u.role;
    snprintf(ret->user_id, sizeof(ret->user_id), "%s", u.id);
    return 0;
}

int api_caller_get(struct http_request *req, struct api_caller *ret)
{
    struct kino *k = api_kino(req);
    memset(ret, 0, sizeof(*ret));
    const char *h = http_request_header(req, "Authorization");
    if (!h)
        return 0;
    /* "Bearer" is case-insensitive (RFC 9110 §11.1); one or more spaces before the credential. */
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        answer_401(req, 1, "send credentials as 'Authorization: Bearer <access token or API key>'");
        return KINO_EINVAL;
    }
    /* Spaces or tabs around the credential are not part of it (RFC 9110 §5.5). */
    const char *start = h + 7, *end;
    while (*start == ' ' || *start == '\t')
        start++;
    for (end = start + strlen(start); end > start && (end[-1] == ' ' || end[-1] == '\t'); end--)
        ;
    char cred[AUTH_TOKEN_MAX + 1];
    if ((size_t)(end - start) > AUTH_TOKEN_MAX) {
        answer_401(req, 1, "the credential is longer than any token or key this server issues");
        return KINO_EINVAL;
    }
    memcpy(cred, start, (size_t)(end - start));
    cred[end - start] = '\0';

    struct kino_err err = { 0 };
    int rc;
    if (auth_secret_valid(cred, AUTH_SECRET_REFRESH)) {
        answer_401(req, 1, "this is a refresh token; exchange it for an access token with "
                           "POST /api/v1/auth/refresh");
        return KINO_EINVAL;
    }
    struct db_conn *c = db_acquire(k->db);
    if (auth_secret_valid(cred, AUTH_SECRET_API_KEY)) {
        char digest[AUTH_SECRET_HASH_SIZE];
        struct api_key_row key;
        auth_secret_hash(cred, digest);
        rc = model_api_key_find(c, digest, time_now_ms(), &key, &err);
        if (rc == KINO_ENOTFOUND) {
            answer_401(req, 1, "the API key is unknown or revoked, or its account is disabled; "
                               "create a new key with POST /api/v1/me/api-keys");
            rc = KINO_EINVAL;
        } else if (rc < 0) {
            http_respond_error(req, rc, &err);
        } else {
            rc = load_account(req, c, key.user_id, ret);
            ret->via_api_key = 1;
        }
    } else {
        struct auth_claims claims;
        rc = auth_token_verify(k->keys, cred, time_now_ms() / 1000, &claims, &err);
        if (rc < 0) {
            char detail[300];
            snprintf(detail, sizeof(detail),
                     "the access token was refused (%s); log in again or use POST "
                     "/api/v1/auth/refresh",
                     kino_err_message(&err, rc));
            answer_401(req, 1, detail);
        } else {
            rc = load_account(req, c, claims.sub, ret);
        }
    }
    db_release(c);
    if (rc < 0)
        memset(ret, 0, sizeof(*ret));
    return rc;
}

int api_caller_require(struct http_request *req, struct api_caller *ret)
{
    int rc = api_caller_get(req, ret);
    if (rc < 0)
        return rc;
    if (ret->role == AUTH_ROLE_NONE) {
        api_answer_login_required(req);
        return KINO_EINVAL;
    }
    return 0;
}

void api_answer_login_required(struct http_request *req)
{
    answer_401(req, 0, "log in first: send 'Authorization: Bearer <token>' with an access "
                       "token from POST /api/v1/auth/login or an API key");
}
