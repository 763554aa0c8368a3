/* SPDX-License-Identifier: MIT */
/*
 * The one context passed down from the CLI to every handler: configuration
 * and the shared services. Built by `kino serve`, read-only afterwards, so
 * any thread may read it. There is no other global mutable state.
 */
#ifndef KINO_KINO_H
#define KINO_KINO_H

#include "core/config.h"

struct db;
struct blob;
struct jobs_pool;

struct kino {
    struct kino_config cfg;
    struct db *db;
    struct blob *blob;
    struct jobs_pool *jobs; /* NULL when this process runs no workers */
};

#endif
