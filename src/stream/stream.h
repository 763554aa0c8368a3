/* SPDX-License-Identifier: MIT */
/*
 * What players fetch: playlists, init segments, media segments and posters,
 * served from storage with the headers players and caches need, under two
 * kinds of path:
 *  - /play/<token>/…: the token (auth_play_sign, handed out by
 *    GET /api/v1/media/{id}/playback) names the media and an expiry; it is
 *    checked without the database, and the URL alone authorises the request,
 *    so a CDN can cache by path. Playlists hold relative URIs, which resolve
 *    under the same token.
 *  - /media/<id>/…: plain URLs, for public media only (one primary-key lookup
 *    of the visibility per request).
 */
#ifndef KINO_STREAM_STREAM_H
#define KINO_STREAM_STREAM_H

#include "http/http.h"

/*
 * Handler for GET/HEAD /media/{id}/{*rest}. Serves the file when the media is
 * public; 403 (play it through /playback) when it is unlisted; 404 when it is
 * private or absent, and for anything that is not a file kino wrote for that
 * media — unknown file types and every path that would leave the media's folder.
 */
void stream_serve(struct http_request *req);

/*
 * Handler for GET/HEAD /play/{token}/{*rest}: 403 for a token that is
 * malformed, tampered, expired or signed by an unknown key; otherwise serves
 * media/<token's id>/<rest> exactly as stream_serve does (404 when absent).
 */
void stream_play(struct http_request *req);

/* Content-Type and Cache-Control for a file name by its extension; NULL when not served. */
const char *stream_content_type(const char *name);
const char *stream_cache_control(const char *name);

#endif
