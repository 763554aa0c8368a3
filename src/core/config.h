/* SPDX-License-Identifier: MIT */
/*
 * Settings of kino serve and kino worker. Each setting has one name used three
 * ways: `listen = …` in the INI file, KINO_LISTEN in the environment and
 * --listen on the command line. Later sources win: defaults, then the file,
 * then the environment, then flags. One table in config.c lists them all
 * (with their help text), so a new setting is one line there.
 */
#ifndef KINO_CORE_CONFIG_H
#define KINO_CORE_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

struct kino_config {
    char listen_host[128];      /* "127.0.0.1"; "::" for every IPv6/IPv4 address */
    uint16_t listen_port;       /* 8080 */
    char data_dir[1024];        /* "./data": kino.db, sources/, media/, tmp/ */
    char public_url[512];       /* base of URLs handed to clients; "" = from the Host header */
    unsigned workers;           /* transcoding threads; default the number of cores */
    unsigned http_threads;      /* HTTP event threads; default the number of cores */
    uint64_t max_upload_bytes;  /* 10 GiB */
    unsigned lease_seconds;     /* a job's lease; renewed while it runs (30) */
    unsigned max_attempts;      /* a job failing for other reasons than its input is retried (3) */
    unsigned stall_seconds;     /* a transcode with no progress for this long fails (120) */
    unsigned shutdown_grace_s;  /* how long SIGTERM waits for requests in flight (10) */
    char x264_preset[16];       /* "veryfast" */
    unsigned crf;               /* 23 */
    char rate_control[16];      /* "capped-crf", "crf" or "cbr" (media_rate_control_parse) */
    char repeats[16];           /* "once" or "every-frame" (media_options.encode_repeats) */
    char log_level[8];          /* "info" */
    unsigned max_pixels;        /* refuse video with more pixels (width x height) (8192x4608) */
    unsigned max_duration_s;    /* refuse media longer than this (86400) */
    char auth_keys[1024];       /* "kid:secret,...": signing keys; "" = <data>/auth.key */
    char registration[4];       /* "on": anyone may register; "off": admins add accounts */
    char registration_role[8];  /* role of registered accounts: "creator" or "viewer" */
    unsigned login_limit_address;  /* login attempts per client address per minute (20) */
    unsigned login_limit_account;  /* failed logins per account per 15 minutes (5) */
    unsigned access_token_seconds; /* access token lifetime (900) */
    unsigned refresh_token_days;   /* refresh token lifetime (30) */
};

/* Fill the defaults. */
void config_init(struct kino_config *cfg);

/*
 * Set one setting by name ("listen", "data", "workers", "max-upload", ... as in
 * the table; '_' and '-' are the same). KINO_EINVAL with a message that names
 * the setting and the accepted values.
 */
int config_set(struct kino_config *cfg, const char *name, const char *value, struct kino_err *err);

/* Read an INI file (settings at top level or in a [kino] section). -errno or KINO_EINVAL. */
int config_load_file(struct kino_config *cfg, const char *path, struct kino_err *err);

/* Apply every KINO_<NAME> variable of the environment that names a setting. */
int config_load_env(struct kino_config *cfg, struct kino_err *err);

/*
 * The whole load for a subcommand: defaults, the file named by --config or
 * KINO_CONFIG, the environment, then --name value / --name=value flags from
 * argv[1..]. Sets *ret_help when --help or -h is given. Unknown flags are errors.
 */
int config_load(struct kino_config *cfg, int argc, char **argv, int *ret_help,
                struct kino_err *err);

/* Print one line per setting (flag, variable, default, meaning) for --help. */
void config_print_help(FILE *out);

#endif
