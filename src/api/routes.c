/* SPDX-License-Identifier: MIT */
/* The route table: every path kino answers, in one place. */
#include "api/api.h"
#include "api/api_internal.h"
#include "stream/stream.h"
#include "core/banned.h"

static const struct http_route routes[] = {
    { "GET", "/health", api_health, NULL },
    { "GET", "/ready", api_ready, NULL },
    { "POST", "/api/v1/upload", api_upload_handle, api_upload_body },
    { "GET", "/api/v1/media", api_media_list, NULL },
    { "GET", "/api/v1/media/{id}", api_media_get, NULL },
    { "PATCH", "/api/v1/media/{id}", api_media_patch, NULL },
    { "DELETE", "/api/v1/media/{id}", api_media_delete, NULL },
    { "GET", "/api/v1/media/{id}/playback", api_media_playback, NULL },
    { "GET", "/media/{id}/{*rest}", stream_serve, NULL },
    { "GET", "/play/{token}/{*rest}", stream_play, NULL },
};

const struct http_route *api_routes(size_t *ret_n)
{
    *ret_n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
