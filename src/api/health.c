/* SPDX-License-Identifier: MIT */
/* /health (the process answers) and /ready (and so do its database and storage). */
#include "api/api_internal.h"
#include "blob/blob.h"
#include "db/db.h"
#include "core/banned.h"

void api_health(struct http_request *req)
{
    http_respond_json(req, 200, "{\"status\":\"ok\"}");
}

void api_ready(struct http_request *req)
{
    struct kino *k = api_kino(req);
    struct kino_err err = { 0 };
    int rc = db_ping(k->db, &err);
    if (rc == 0)
        rc = blob_ping(k->blob, &err);
    if (rc < 0) {
        char detail[KINO_ERR_MSG_MAX + 64];
        snprintf(detail, sizeof(detail), "not ready: %s", kino_err_message(&err, rc));
        http_respond_problem(req, 503, detail);
        return;
    }
    http_respond_json(req, 200, "{\"status\":\"ready\"}");
}
