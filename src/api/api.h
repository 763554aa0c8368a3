/* SPDX-License-Identifier: MIT */
/*
 * REST API v1, health checks and the streaming paths: the route table that
 * `kino serve` hands to the HTTP server. Handlers expect http_request_app()
 * to be the struct kino of the process.
 */
#ifndef KINO_API_API_H
#define KINO_API_API_H

#include <stddef.h>

#include "http/http.h"

/* Every route kino serves; the table is static and lives for the program. */
const struct http_route *api_routes(size_t *ret_n);

#endif
