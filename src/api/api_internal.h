/* SPDX-License-Identifier: MIT */
/* Shared between the API's handler files only. */
#ifndef KINO_API_INTERNAL_H
#define KINO_API_INTERNAL_H

#include <jansson.h>

#include "http/http.h"
#include "kino.h"
#include "model/model.h"

/* The process context of a request. */
static inline struct kino *api_kino(struct http_request *req)
{
    return http_request_app(req);
}

/* The media object of the API (see docs/api.md). Caller owns the reference. */
json_t *api_media_json(const struct media_row *m);

/* Answer `status` with `obj` as JSON; steals the reference. */
void api_respond_json(struct http_request *req, unsigned status, json_t *obj);

/* "a, b,,c" → ["a","b","c"] as JSON text (caller frees); KINO_EINVAL with a message past the limits. */
int api_tags_from_csv(const char *csv, char **ret_json, struct kino_err *err);

/* Limits on metadata, shared by upload and PATCH. */
#define API_TITLE_MAX 500
#define API_DESCRIPTION_MAX 10000
#define API_TAGS_MAX 50
#define API_TAG_LEN_MAX 64

void api_upload_handle(struct http_request *req);
int api_upload_body(struct http_request *req, const char *data, size_t len);
void api_media_list(struct http_request *req);
void api_media_get(struct http_request *req);
void api_media_patch(struct http_request *req);
void api_media_delete(struct http_request *req);
void api_media_playback(struct http_request *req);
void api_health(struct http_request *req);
void api_ready(struct http_request *req);

#endif
