/* SPDX-License-Identifier: MIT */
/*
 * What players fetch: playlists, init segments, media segments and posters
 * under /media/<id>/…, served from storage with the headers players and
 * caches need. No database access on this path: a file exists in storage only
 * once its media is ready, so storage alone answers.
 */
#ifndef KINO_STREAM_STREAM_H
#define KINO_STREAM_STREAM_H

#include "http/http.h"

/*
 * Handler for GET/HEAD /media/{id}/{*rest}. Answers 404 for anything that is
 * not a file kino wrote for that media — unknown ids, unknown file types and
 * every path that would leave the media's folder.
 */
void stream_serve(struct http_request *req);

/* Content-Type and Cache-Control for a file name by its extension; NULL when not served. */
const char *stream_content_type(const char *name);
const char *stream_cache_control(const char *name);

#endif
