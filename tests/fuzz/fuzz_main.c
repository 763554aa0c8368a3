/* SPDX-License-Identifier: MIT */
/*
 * Corpus replay for the fuzz targets (the systemd src/fuzz/fuzz-main.c idea):
 * linked instead of libFuzzer, it runs LLVMFuzzerTestOneInput once over every
 * file named on the command line or found directly in a directory named there,
 * so ordinary test runs (under ASan/UBSan in build-test) check every committed
 * input without clang or libFuzzer.
 *
 *   fuzz_multipart [--no-fork] CORPUS_DIR_OR_FILE...
 *
 * Each input runs in a forked child, so a crash is counted and reported with
 * the file name and the replay goes on to the next one; --no-fork runs them in
 * this process (for gdb). Each input is copied into a buffer of exactly its
 * size, as libFuzzer does, so ASan catches a read past the end. The last line
 * printed is "N passed, M failed"; the exit status is 0 only when M is 0 and
 * at least one input was replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay {
    int fork_each;
    unsigned passed;
    unsigned failed;
};

/* The whole file in a malloc'd buffer of exactly its size (NULL data for an empty file). */
static int read_file(const char *path, uint8_t **ret_data, size_t *ret_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    uint8_t *data = NULL;
    size_t size = 0, alloc = 0;
    for (;;) {
        if (size == alloc) {
            alloc = alloc ? alloc * 2 : 4096;
            uint8_t *p = realloc(data, alloc);
            if (!p) {
                free(data);
                fclose(f);
                return -ENOMEM;
            }
            data = p;
        }
        size_t n = fread(data + size, 1, alloc - size, f);
        size += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        return -EIO;
    }
    /* Exactly `size` bytes, so that reading one past the end is an ASan report. */
    uint8_t *exact = size ? malloc(size) : NULL;
    if (size && !exact) {
        free(data);
        return -ENOMEM;
    }
    if (size)
        memcpy(exact, data, size);
    free(data);
    *ret_data = exact;
    *ret_size = size;
    return 0;
}

static void run_one(struct replay *r, const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = read_file(path, &data, &size);
    if (rc < 0) {
        fprintf(stderr, "FAIL %s: cannot read: %s\n", path, strerror(-rc));
        r->failed++;
        return;
    }
    if (!r->fork_each) {
        (void)LLVMFuzzerTestOneInput(data, size);
        free(data);
        printf("ok   %s (%zu bytes)\n", path, size);
        r->passed++;
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "FAIL %s: fork: %s\n", path, strerror(errno));
        free(data);
        r->failed++;
        return;
    }
    if (pid == 0) {
        (void)LLVMFuzzerTestOneInput(data, size);
        free(data);
        fflush(stdout);
        _exit(0);
    }
    free(data);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "FAIL %s: waitpid: %s\n", path, strerror(errno));
            r->failed++;
            return;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("ok   %s (%zu bytes)\n", path, size);
        r->passed++;
    } else if (WIFSIGNALED(status)) {
        printf("FAIL %s (%zu bytes): killed by signal %d\n", path, size, WTERMSIG(status));
        r->failed++;
    } else {
        printf("FAIL %s (%zu bytes): exit status %d\n", path, size, WEXITSTATUS(status));
        r->failed++;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file directly in `dir` (no dot files), in name order so runs are repeatable. */
static void run_dir(struct replay *r, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "FAIL %s: cannot open: %s\n", dir, strerror(errno));
        r->failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + 1 + strlen(de->d_name) + 1;
        char *path = malloc(len);
        if (!path)
            abort();
        snprintf(path, len, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            char **p = realloc(names, alloc * sizeof(*names));
            if (!p)
                abort();
            names = p;
        }
        names[n++] = path;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        run_one(r, names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    struct replay r = { .fork_each = 1 };
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-fork") == 0) {
            r.fork_each = 0;
            continue;
        }
        if (argv[i][0] == '-') {
            /* libFuzzer flags (-runs=, -max_len=...) mean nothing here; say so rather than
             * treating them as paths. */
            fprintf(stderr, "%s: ignoring option %s (this is the replay build, not libFuzzer)\n",
                    argv[0], argv[i]);
            continue;
        }
        n_paths++;
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "FAIL %s: %s\n", argv[i], strerror(errno));
            r.failed++;
        } else if (S_ISDIR(st.st_mode)) {
            run_dir(&r, argv[i]);
        } else {
            run_one(&r, argv[i]);
        }
    }
    if (n_paths == 0) {
        fprintf(stderr, "usage: %s [--no-fork] CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    printf("replayed %u inputs\n", r.passed + r.failed);
    printf("%u passed, %u failed\n", r.passed, r.failed);
    return r.failed == 0 && r.passed > 0 ? 0 : 1;
}
