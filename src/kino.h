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
struct auth_keys;
struct auth_passwords;
struct login_guard;

struct kino {
    struct kino_config cfg;
    struct db *db;
    struct blob *blob;
    struct jobs_pool *jobs; /* NULL when this process runs no workers */
    struct auth_keys *keys; /* sign access tokens and playback tokens (auth.h) */
    struct auth_passwords *passwords; /* Argon2id hashing, with its dummy hash */
    struct login_guard *login_guard;  /* login rate limits and the hashing gate (api/auth.c) */
};

#endif
