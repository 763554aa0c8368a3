/* SPDX-License-Identifier: MIT */
/*
 * kino serve: open the database and storage, start the worker pool and the
 * HTTP server, and run until SIGINT or SIGTERM; then stop accepting, let
 * requests in flight finish, hand running jobs back to the queue, exit 0.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/login_guard.h"
#include "auth/auth.h"
#include "blob/blob.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "kino.h"
#include "core/banned.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kino serve [options]\n\n"
            "Serve the HTTP API (uploads, media, playback), the HLS streams and, unless\n"
            "--workers 0, transcode uploads in this process. Stops cleanly on SIGINT or\n"
            "SIGTERM: requests in flight finish and running jobs go back to the queue.\n\n"
            "Each option can also be set as an environment variable or in an INI file\n"
            "(name = value); flags win over the environment, which wins over the file.\n\n");
    config_print_help(out);
    fprintf(out, "\nexample: kino serve --listen 0.0.0.0:8080 --data /var/lib/kino --workers 2\n");
}

/* Uploads interrupted by a crash leave tmp/upload-* behind; nothing refers to them. */
static void remove_stale_uploads(const char *tmp_dir)
{
    DIR *d = opendir(tmp_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "upload-", 7) == 0) {
            char path[2048 + 260];
            snprintf(path, sizeof(path), "%s/%s", tmp_dir, e->d_name);
            (void)unlink(path);
        }
    }
    closedir(d);
}

int cmd_serve(int argc, char **argv)
{
    struct kino k = { 0 };
    struct kino_err err = { 0 };
    struct http_server *http = NULL;
    int help, rc, status = 1;

    /* Block the stop signals before any thread starts so that every thread inherits the
     * mask and only sigwait() below receives them. SIGPIPE: a client that goes away must
     * not kill the server. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((rc = config_load(&k.cfg, argc, argv, &help, &err)) < 0) {
        fprintf(stderr, "kino serve: %s\n", kino_err_message(&err, rc));
        return 2;
    }
    if (help) {
        usage(stdout);
        return 0;
    }
    /* "https://video.example.com/" and ".../" alike: URLs are built as base + "/media/..." */
    for (size_t n = strlen(k.cfg.public_url); n > 0 && k.cfg.public_url[n - 1] == '/'; n--)
        k.cfg.public_url[n - 1] = '\0';
    enum log_level level = LOG_INFO;
    (void)log_parse_level(k.cfg.log_level, &level);
    log_set_level(level);

    char path[2048];
    snprintf(path, sizeof(path), "%s/tmp", k.cfg.data_dir);
    if ((rc = fs_mkdirs(path)) < 0) {
        log_msg(LOG_ERROR, NULL, "cannot create the data directory %s: %s; choose another with "
                "--data or KINO_DATA", k.cfg.data_dir, strerror(-rc));
        return 1;
    }
    remove_stale_uploads(path);

    snprintf(path, sizeof(path), "sqlite:%s/kino.db", k.cfg.data_dir);
    if ((rc = db_open(path, k.cfg.http_threads + k.cfg.workers + 2, &k.db, &err)) < 0 ||
        (rc = db_migrate(k.db, &err)) < 0)
        goto fail;
    if ((rc = blob_open(k.cfg.data_dir, &k.blob, &err)) < 0)
        goto fail;

    /* Access tokens and playback tokens are signed with the configured keys (auth-keys: a
     * secret store can hand them to every node) or else with the keys in <data>/auth.key,
     * made once: every process sharing the data directory signs and verifies alike. */
    k.keys = auth_keys_new();
    if (k.cfg.auth_keys[0]) {
        if ((rc = auth_keys_add_list(k.keys, k.cfg.auth_keys, &err)) < 0)
            goto fail;
        sodium_memzero(k.cfg.auth_keys, sizeof(k.cfg.auth_keys));
    } else {
        int key_created = 0;
        snprintf(path, sizeof(path), "%s/auth.key", k.cfg.data_dir);
        if ((rc = auth_keys_load_or_create(k.keys, path, &key_created, &err)) < 0)
            goto fail;
        if (key_created)
            log_msg(LOG_INFO, NULL, "created the signing key file %s (mode 0600); keep it "
                    "secret, and share it with every kino process of this installation", path);
    }
    struct auth_config ac;
    auth_config_default(&ac);
    if ((rc = auth_passwords_new(&ac, &k.passwords, &err)) < 0)
        goto fail;
    struct login_guard_config lg;
    login_guard_config_init(&lg);
    lg.address_limit = k.cfg.login_limit_address;
    lg.account_limit = k.cfg.login_limit_account;
    k.login_guard = login_guard_new(&lg);

    if (k.cfg.workers > 0) {
        struct jobs_config jc = { .workers = k.cfg.workers,
                                  .lease_seconds = k.cfg.lease_seconds,
                                  .stall_seconds = k.cfg.stall_seconds };
        snprintf(path, sizeof(path), "%s/tmp/work", k.cfg.data_dir);
        jc.work_dir = path;
        media_options_init(&jc.media);
        snprintf(jc.media.x264_preset, sizeof(jc.media.x264_preset), "%s", k.cfg.x264_preset);
        jc.media.crf = (int)k.cfg.crf;
        /* config.c accepts only the names media_rate_control_parse knows. */
        if (media_rate_control_parse(k.cfg.rate_control, &jc.media.rate_control) < 0) {
            rc = kino_err_set(&err, KINO_EINVAL, "rate-control: unknown mode '%s'",
                              k.cfg.rate_control);
            goto fail;
        }
        /* config.c accepts only "once" and "every-frame". */
        jc.media.encode_repeats = strcmp(k.cfg.repeats, "every-frame") == 0;
        jc.media.max_pixels = k.cfg.max_pixels;
        jc.media.max_duration_s = k.cfg.max_duration_s;
        if ((rc = jobs_pool_start(&jc, k.db, k.blob, &k.jobs, &err)) < 0)
            goto fail;
    }

    size_t n_routes;
    const struct http_route *routes = api_routes(&n_routes);
    struct http_server_config hc = {
        .host = k.cfg.listen_host,
        .port = k.cfg.listen_port,
        .threads = k.cfg.http_threads,
    };
    if ((rc = http_server_start(&hc, routes, n_routes, &k, &http, &err)) < 0)
        goto fail;
    log_msg(LOG_INFO, NULL, "kino listening on http://%s%s%s:%u with %u worker(s), data in %s",
            strchr(k.cfg.listen_host, ':') ? "[" : "", k.cfg.listen_host,
            strchr(k.cfg.listen_host, ':') ? "]" : "", http_server_port(http), k.cfg.workers,
            k.cfg.data_dir);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_msg(LOG_INFO, NULL, "received %s: finishing requests in flight and handing running jobs "
            "back to the queue", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(http, k.cfg.shutdown_grace_s * 1000);
    status = 0;
    goto out;

fail:
    log_msg(LOG_ERROR, NULL, "kino serve cannot start: %s", kino_err_message(&err, rc));
out:
    jobs_pool_free(k.jobs); /* hands running jobs back before the database closes */
    http_server_free(http);
    blob_free(k.blob);
    db_close(k.db);
    auth_passwords_free(k.passwords);
    login_guard_free(k.login_guard);
    auth_keys_free(k.keys);
    if (status == 0)
        log_msg(LOG_INFO, NULL, "kino stopped");
    return status;
}
