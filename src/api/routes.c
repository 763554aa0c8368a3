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
    { "POST", "/api/v1/auth/register", api_auth_register, api_small_body },
    { "POST", "/api/v1/auth/login", api_auth_login, api_small_body },
    { "POST", "/api/v1/auth/refresh", api_auth_refresh, api_small_body },
    { "POST", "/api/v1/auth/logout", api_auth_logout, api_small_body },
    { "GET", "/api/v1/me", api_me_get, NULL },
    { "PATCH", "/api/v1/me", api_me_patch, api_small_body },
    { "GET", "/api/v1/me/api-keys", api_me_keys_list, NULL },
    { "POST", "/api/v1/me/api-keys", api_me_keys_create, api_small_body },
    { "DELETE", "/api/v1/me/api-keys/{id}", api_me_keys_delete, NULL },
    { "GET", "/api/v1/users", api_users_list, NULL },
    { "PATCH", "/api/v1/users/{id}", api_users_patch, api_small_body },
    { "GET", "/media/{id}/{*rest}", stream_serve, NULL },
    { "GET", "/play/{token}/{*rest}", stream_play, NULL },
};

const struct http_route *api_routes(size_t *ret_n)
{
    *ret_n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
