/* SPDX-License-Identifier: MIT */
/*
 * The INI configuration file (core/config.h config_load_file, through inih).
 *
 * Input: the file's bytes. They are written to a memfd (a file in memory, no
 * disk churn) and loaded through its /proc/self/fd path, as `kino serve
 * --config` would load a file. Checked with abort(): the load either succeeds
 * with every setting in its documented range (or still at its default) and
 * every string NUL-terminated in its field, or fails with KINO_EINVAL and a
 * message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "fuzz.h"
#include "core/banned.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)
#define IN_RANGE(field, lo, hi) in_range(cfg.field, defaults.field, (lo), (hi))

/* A setting is still its default (which may depend on the machine) or within its bounds. */
static int in_range(uint64_t v, uint64_t def, uint64_t lo, uint64_t hi)
{
    return v == def || (v >= lo && v <= hi);
}

static int file_fd = -1;
static char file_path[64];

/* One memfd for the whole session, rewritten for each input. */
static void write_input(const uint8_t *data, size_t size)
{
    if (file_fd < 0) {
        file_fd = memfd_create("fuzz_config_ini", MFD_CLOEXEC);
        check(file_fd >= 0);
        snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
    }
    check(ftruncate(file_fd, 0) == 0);
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(file_fd, data + off, size - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        check(n > 0);
        off += (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);

    struct kino_config defaults, cfg;
    config_init(&defaults);
    config_init(&cfg);
    struct kino_err err;
    kino_err_clear(&err);
    int rc = config_load_file(&cfg, file_path, &err);
    if (rc < 0) {
        /* The file is there and readable: only its contents can be refused. */
        check(rc == KINO_EINVAL);
        check(err.code == rc && err.msg[0] != '\0');
        return 0;
    }
    check(rc == 0);
    check(err.code == 0);

    check(TERMINATED(cfg.listen_host) && cfg.listen_host[0] != '\0');
    check(IN_RANGE(listen_port, 0, 65535));
    check(TERMINATED(cfg.data_dir));
    check(TERMINATED(cfg.public_url));
    check(IN_RANGE(workers, 0, 256));
    check(IN_RANGE(http_threads, 1, 1024));
    check(IN_RANGE(lease_seconds, 5, 3600));
    check(IN_RANGE(max_attempts, 1, 100));
    check(IN_RANGE(shutdown_grace_s, 0, 3600));
    check(TERMINATED(cfg.x264_preset));
    check(IN_RANGE(crf, 0, 51));
    check(TERMINATED(cfg.log_level));
    check(strcmp(cfg.log_level, "debug") == 0 || strcmp(cfg.log_level, "info") == 0 ||
          strcmp(cfg.log_level, "warn") == 0 || strcmp(cfg.log_level, "error") == 0);
    return 0;
}
