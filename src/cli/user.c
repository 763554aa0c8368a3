/* SPDX-License-Identifier: MIT */
/*
 * kino user add | list: manage accounts from the command line, on the
 * database in the data directory (the same --data / KINO_DATA / --config as
 * kino serve). `add` reads the password from the first line of standard input
 * so that scripts can pipe it and it never appears in argv or the shell history.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/mem.h"
#include "core/util.h"
#include "db/db.h"
#include "model/model.h"
#include "core/banned.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kino user add --email EMAIL --role admin|creator|viewer [--name NAME]\n"
            "                     [--data DIR] [--config FILE]\n"
            "       kino user list [--data DIR] [--config FILE]\n\n"
            "add:  create an account. The password is the first line of standard input\n"
            "      (at least %d characters), so scripts can pipe it:\n"
            "        printf '%%s\\n' \"$PASSWORD\" | kino user add --email ada@example.com "
            "--role admin\n"
            "      Prints the new user's id and email.\n"
            "list: print every account: id, email, role, disabled.\n\n"
            "The database is <data>/kino.db, created if missing; --data, KINO_DATA and\n"
            "--config work as for kino serve (see kino serve --help).\n",
            AUTH_PASSWORD_MIN);
}

/* This command's own flags; the rest (--data, --config, --help) go to config_load. */
struct user_flags {
    const char *email, *role, *name;
};

/*
 * Take --email/--role/--name ("--x v" or "--x=v") out of argv; what is left is
 * copied into `rest` (argv[0] first) for config_load. KINO_EINVAL for a flag
 * without its value.
 */
static int split_flags(int argc, char **argv, struct user_flags *f, char **rest, int *ret_n,
                       struct kino_err *err)
{
    static const char *const names[] = { "email", "role", "name" };
    const char **slots[] = { &f->email, &f->role, &f->name };
    int n = 0;
    rest[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        int taken = 0;
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !taken; k++) {
            size_t len = strlen(names[k]);
            const char *a = argv[i];
            if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, names[k], len) != 0)
                continue;
            if (a[2 + len] == '=') {
                *slots[k] = a + 3 + len;
                taken = 1;
            } else if (a[2 + len] == '\0') {
                if (i + 1 >= argc)
                    return kino_err_set(err, KINO_EINVAL, "--%s needs a value", names[k]);
                *slots[k] = argv[++i];
                taken = 1;
            }
        }
        if (!taken)
            rest[n++] = argv[i];
    }
    rest[n] = NULL;
    *ret_n = n;
    return 0;
}

/* Open (creating and migrating) <data>/kino.db. Prints the error; 0 or -1. */
static int open_db(const struct kino_config *cfg, struct db **ret)
{
    struct kino_err err = { 0 };
    int rc = fs_mkdirs(cfg->data_dir);
    if (rc < 0) {
        fprintf(stderr,
                "kino user: cannot create the data directory %s: %s; choose another with "
                "--data or KINO_DATA\n",
                cfg->data_dir, strerror(-rc));
        return -1;
    }
    char url[sizeof(cfg->data_dir) + 32];
    snprintf(url, sizeof(url), "sqlite:%s/kino.db", cfg->data_dir);
    if ((rc = db_open(url, 1, ret, &err)) < 0 || (rc = db_migrate(*ret, &err)) < 0) {
        fprintf(stderr, "kino user: %s\n", kino_err_message(&err, rc));
        db_close(*ret);
        *ret = NULL;
        return -1;
    }
    return 0;
}

/* The first line of standard input, without its line ending. 0, or -1 with a message printed. */
static int read_password(char *buf, size_t size)
{
    if (isatty(STDIN_FILENO))
        fputs("password (echoed; pipe it to keep it off the screen): ", stderr);
    if (!fgets(buf, (int)size, stdin)) {
        fputs("kino user add: no password on standard input; pipe it, e.g.\n"
              "  printf '%s\\n' \"$PASSWORD\" | kino user add --email ... --role ...\n",
              stderr);
        return -1;
    }
    size_t n = strlen(buf);
    if (n == size - 1 && buf[n - 1] != '\n' && !feof(stdin)) {
        fprintf(stderr, "kino user add: the password is longer than %d bytes; choose a shorter "
                        "one\n", AUTH_PASSWORD_MAX);
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

static int user_add(int argc, char **argv)
{
    struct user_flags f = { 0 };
    struct kino_config cfg;
    struct kino_err err = { 0 };
    char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
    int n = 0, help = 0, status = 2;
    int rc = split_flags(argc, argv, &f, rest, &n, &err);
    if (rc == 0)
        rc = config_load(&cfg, n, rest, &help, &err);
    free(rest);
    if (rc < 0) {
        fprintf(stderr, "kino user add: %s\n", kino_err_message(&err, rc));
        return 2;
    }
    if (help) {
        usage(stdout);
        return 0;
    }
    enum auth_role role;
    if (!f.email || !f.role) {
        fputs("kino user add: --email and --role are required, e.g. kino user add "
              "--email ada@example.com --role admin\n", stderr);
        return 2;
    }
    if (auth_role_parse(f.role, &role, NULL) < 0) {
        fprintf(stderr, "kino user add: '%s' is not a role; use admin, creator or viewer\n",
                f.role);
        return 2;
    }
    if ((rc = model_user_check_email(f.email, &err)) < 0) {
        fprintf(stderr, "kino user add: %s\n", kino_err_message(&err, rc));
        return 2;
    }

    char password[AUTH_PASSWORD_MAX + 2];
    char hash[AUTH_HASH_MAX];
    struct auth_passwords *pw = NULL;
    struct db *db = NULL;
    if (read_password(password, sizeof(password)) < 0)
        goto out;
    status = 1;
    if ((rc = auth_password_check_policy(password, &err)) < 0) {
        fprintf(stderr, "kino user add: %s\n", kino_err_message(&err, rc));
        status = 2;
        goto out;
    }
    struct auth_config ac;
    auth_config_default(&ac);
    if ((rc = auth_passwords_new(&ac, &pw, &err)) < 0 ||
        (rc = auth_password_hash(pw, password, hash, &err)) < 0) {
        fprintf(stderr, "kino user add: %s\n", kino_err_message(&err, rc));
        goto out;
    }
    if (open_db(&cfg, &db) < 0)
        goto out;
    struct db_conn *c = db_acquire(db);
    struct user_row u;
    rc = model_user_create(c, f.email, f.name, role, hash, time_now_ms(), &u, &err);
    db_release(c);
    if (rc < 0) {
        fprintf(stderr, "kino user add: %s\n", kino_err_message(&err, rc));
        goto out;
    }
    printf("%s %s\n", u.id, u.email);
    status = 0;
out:
    sodium_memzero(password, sizeof(password));
    auth_passwords_free(pw);
    db_close(db);
    return status;
}

static int user_list(int argc, char **argv)
{
    struct kino_config cfg;
    struct kino_err err = { 0 };
    int help = 0;
    int rc = config_load(&cfg, argc, argv, &help, &err);
    if (rc < 0) {
        fprintf(stderr, "kino user list: %s\n", kino_err_message(&err, rc));
        return 2;
    }
    if (help) {
        usage(stdout);
        return 0;
    }
    struct db *db = NULL;
    if (open_db(&cfg, &db) < 0)
        return 1;
    struct db_conn *c = db_acquire(db);
    printf("%-16s  %-32s  %-7s  %s\n", "ID", "EMAIL", "ROLE", "DISABLED");
    int64_t after_at = 0;
    char after_id[KINO_ID_LEN + 1] = "";
    for (;;) {
        struct user_row *rows;
        size_t n;
        rc = model_user_list(c, after_at, after_id[0] ? after_id : NULL, 100, &rows, &n, &err);
        if (rc < 0)
            break;
        for (size_t i = 0; i < n; i++)
            printf("%-16s  %-32s  %-7s  %s\n", rows[i].id, rows[i].email,
                   auth_role_name(rows[i].role), rows[i].disabled ? "yes" : "no");
        if (n > 0) {
            after_at = rows[n - 1].created_at;
            snprintf(after_id, sizeof(after_id), "%s", rows[n - 1].id);
        }
        free(rows);
        if (n < 100)
            break;
    }
    db_release(c);
    db_close(db);
    if (rc < 0) {
        fprintf(stderr, "kino user list: %s\n", kino_err_message(&err, rc));
        return 1;
    }
    return 0;
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "add") == 0)
        return user_add(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return user_list(argc - 1, argv + 1);
    fprintf(stderr, "kino user: '%s' is not a user command; use add or list (kino user --help)\n",
            argv[1]);
    return 2;
}
