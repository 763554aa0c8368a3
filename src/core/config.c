/* SPDX-License-Identifier: MIT */
/* Settings table and the file/environment/flag loaders (see config.h). */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "core/banned.h"

enum setting_type { T_LISTEN, T_STRING, T_UINT, T_SIZE, T_LEVEL, T_CHOICE };

struct setting {
    const char *name;
    enum setting_type type;
    size_t offset;
    size_t size;           /* for strings: capacity; for uints: unused */
    unsigned min, max;     /* for T_UINT */
    const char *help;
    const char *choices;   /* for T_CHOICE: the accepted values, "on|off" */
};

#define STR(field) offsetof(struct kino_config, field), sizeof(((struct kino_config *)0)->field)
#define UINT(field) offsetof(struct kino_config, field), 0

static const struct setting settings[] = {
    { "listen", T_LISTEN, 0, 0, 0, 0, "address to serve HTTP on, HOST:PORT (127.0.0.1:8080)",
      NULL },
    { "data", T_STRING, STR(data_dir), 0, 0, "data directory: database, sources, media (./data)",
      NULL },
    { "public-url", T_STRING, STR(public_url), 0, 0,
      "base URL for links handed to clients, e.g. https://video.example.com (from Host)", NULL },
    { "workers", T_UINT, UINT(workers), 0, 256, "transcoding threads; 0 = none (cores)", NULL },
    { "http-threads", T_UINT, UINT(http_threads), 1, 1024, "HTTP event threads (cores)", NULL },
    { "max-upload", T_SIZE, offsetof(struct kino_config, max_upload_bytes), 0, 0, 0,
      "largest accepted upload, bytes or with K/M/G (10G)", NULL },
    { "lease-seconds", T_UINT, UINT(lease_seconds), 5, 3600,
      "a running job's lease; a crashed worker's job is retried after it (30)", NULL },
    { "max-attempts", T_UINT, UINT(max_attempts), 1, 100, "tries per job before it is dead (3)",
      NULL },
    { "stall-seconds", T_UINT, UINT(stall_seconds), 0, 86400,
      "a transcode that makes no progress for this long fails; 0 = never (120)", NULL },
    { "shutdown-grace", T_UINT, UINT(shutdown_grace_s), 0, 3600,
      "seconds SIGTERM waits for requests in flight (10)", NULL },
    { "preset", T_CHOICE, STR(x264_preset), 0, 0,
      "x264 preset: faster ones encode sooner, slower ones make smaller files (veryfast)",
      "ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow|placebo" },
    { "crf", T_UINT, UINT(crf), 0, 51,
      "x264 constant rate factor, lower is better and bigger (23)", NULL },
    { "rate-control", T_CHOICE, STR(rate_control), 0, 0,
      "capped-crf: quality crf, never above each rung's bitrate; crf: quality crf alone; cbr: "
      "each rung at its bitrate, on average and as the cap (capped-crf)",
      "capped-crf|crf|cbr" },
    { "repeats", T_CHOICE, STR(repeats), 0, 0,
      "every-frame: every frame is encoded; once: a picture that stays to the end of its GOP "
      "(a still, a slide) is encoded once there and the rest written as skipped pictures, "
      "much faster, untested on hardware decoders (every-frame)",
      "once|every-frame" },
    { "log-level", T_LEVEL, STR(log_level), 0, 0, "debug, info, warn or error (info)", NULL },
    { "max-pixels", T_UINT, UINT(max_pixels), 256, 1U << 30,
      "refuse video larger than this many pixels (width x height) (37748736: 8192x4608)", NULL },
    { "max-duration", T_UINT, UINT(max_duration_s), 1, 7 * 86400,
      "refuse media longer than this many seconds (86400: 24 h)", NULL },
    { "registration", T_CHOICE, STR(registration), 0, 0,
      "on: anyone may create an account with POST /api/v1/auth/register; off: only admins "
      "(kino user add) (on)",
      "on|off" },
    { "registration-role", T_CHOICE, STR(registration_role), 0, 0,
      "the role of accounts made by registration: creator (may upload) or viewer (creator)",
      "creator|viewer" },
    { "login-limit-address", T_UINT, UINT(login_limit_address), 1, 1000000,
      "login attempts allowed per client address per minute (20)", NULL },
    { "login-limit-account", T_UINT, UINT(login_limit_account), 1, 1000000,
      "failed logins allowed per account per 15 minutes; a good login clears them (5)", NULL },
    { "access-token-seconds", T_UINT, UINT(access_token_seconds), 5, 86400,
      "lifetime of an access token (900)", NULL },
    { "refresh-token-days", T_UINT, UINT(refresh_token_days), 1, 3650,
      "lifetime of a refresh token, i.e. how long a login lasts without a password (30)", NULL },
    { "auth-keys", T_STRING, STR(auth_keys), 0, 0,
      "keys that sign tokens and playback URLs, KID:SECRET[,KID:SECRET...], the first signs; "
      "give every node the same (DATA/auth.key, made at first start)", NULL },
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

void config_init(struct kino_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8080;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./data");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cores > 0 ? (unsigned)cores : 1;
    cfg->http_threads = cfg->workers;
    cfg->max_upload_bytes = 10ULL << 30;
    cfg->lease_seconds = 30;
    cfg->max_attempts = 3;
    cfg->stall_seconds = 120;
    cfg->shutdown_grace_s = 10;
    snprintf(cfg->x264_preset, sizeof(cfg->x264_preset), "veryfast");
    cfg->crf = 23;
    snprintf(cfg->rate_control, sizeof(cfg->rate_control), "capped-crf");
    snprintf(cfg->repeats, sizeof(cfg->repeats), "every-frame");
    snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
    cfg->max_pixels = 8192U * 4608; /* the media pipeline's defaults (media_options_init) */
    cfg->max_duration_s = 24 * 3600;
    snprintf(cfg->registration, sizeof(cfg->registration), "on");
    snprintf(cfg->registration_role, sizeof(cfg->registration_role), "creator");
    cfg->login_limit_address = 20;
    cfg->login_limit_account = 5;
    cfg->access_token_seconds = 900;
    cfg->refresh_token_days = 30;
}

/* "listen", "LISTEN" and "max_upload" all name "listen" / "max-upload". */
static int name_matches(const char *setting, const char *name)
{
    for (; *setting && *name; setting++, name++) {
        char c = (char)tolower((unsigned char)*name);
        if (c == '_')
            c = '-';
        if (c != *setting)
            return 0;
    }
    return *setting == '\0' && *name == '\0';
}

static const struct setting *find_setting(const char *name)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (name_matches(settings[i].name, name))
            return &settings[i];
    return NULL;
}

static int parse_listen(struct kino_config *cfg, const char *value, struct kino_err *err)
{
    const char *colon = strrchr(value, ':');
    const char *host = value;
    size_t host_len = colon ? (size_t)(colon - value) : 0;
    if (!colon || host_len == 0)
        goto bad;
    if (host[0] == '[') { /* [::1]:8080 */
        if (host_len < 3 || host[host_len - 1] != ']')
            goto bad;
        host++;
        host_len -= 2;
    }
    int64_t port;
    if (host_len >= sizeof(cfg->listen_host) || parse_int64(colon + 1, 0, 65535, &port) < 0)
        goto bad;
    memcpy(cfg->listen_host, host, host_len);
    cfg->listen_host[host_len] = '\0';
    cfg->listen_port = (uint16_t)port;
    return 0;
bad:
    return kino_err_set(err, KINO_EINVAL,
                        "listen: '%s' is not HOST:PORT; use e.g. 127.0.0.1:8080 or [::]:8080",
                        value);
}

/* Whether `value` is one of the '|'-separated `choices`, exactly. */
static int is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (n > 0 && len == n && strncmp(p, value, n) == 0)
            return 1;
        p += len + (bar ? 1 : 0);
    }
    return 0;
}

int config_set(struct kino_config *cfg, const char *name, const char *value, struct kino_err *err)
{
    const struct setting *s = find_setting(name);
    if (!s)
        return kino_err_set(err, KINO_EINVAL, "unknown setting '%s'; see 'kino serve --help'",
                            name);
    char *field = (char *)cfg + s->offset;
    switch (s->type) {
    case T_LISTEN:
        return parse_listen(cfg, value, err);
    case T_STRING:
        if (strlen(value) >= s->size)
            return kino_err_set(err, KINO_EINVAL, "%s: value longer than %zu characters",
                                s->name, s->size - 1);
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case T_LEVEL: {
        enum log_level level;
        if (log_parse_level(value, &level) < 0)
            return kino_err_set(err, KINO_EINVAL,
                                "log-level: '%s' is not one of debug, info, warn, error", value);
        snprintf(field, s->size, "%s", value);
        return 0;
    }
    case T_UINT: {
        int64_t v;
        if (parse_int64(value, s->min, s->max, &v) < 0)
            return kino_err_set(err, KINO_EINVAL, "%s: '%s' is not a whole number from %u to %u",
                                s->name, value, s->min, s->max);
        *(unsigned *)(void *)field = (unsigned)v;
        return 0;
    }
    case T_CHOICE:
        if (!is_choice(s->choices, value))
            return kino_err_set(err, KINO_EINVAL, "%s: '%s' is not one of %s", s->name, value,
                                s->choices);
        snprintf(field, s->size, "%s", value);
        return 0;
    case T_SIZE: {
        uint64_t v;
        if (parse_size(value, &v) < 0)
            return kino_err_set(err, KINO_EINVAL,
                                "%s: '%s' is not a size; use bytes or a K, M or G suffix (10G)",
                                s->name, value);
        *(uint64_t *)(void *)field = v;
        return 0;
    }
    }
    return KINO_EINVAL;
}

struct ini_state {
    struct kino_config *cfg;
    struct kino_err *err;
    int rc;
};

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
    struct ini_state *st = user;
    if (st->rc < 0)
        return 0;
    if (section[0] && strcmp(section, "kino") != 0)
        return 1; /* other sections belong to other tools */
    st->rc = config_set(st->cfg, name, value, st->err);
    return st->rc == 0;
}

int config_load_file(struct kino_config *cfg, const char *path, struct kino_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return kino_err_set(err, -errno, "cannot read the configuration file %s: %s", path,
                            strerror(errno));
    struct ini_state st = { cfg, err, 0 };
    int line = ini_parse_file(f, on_ini_value, &st);
    fclose(f);
    if (st.rc < 0)
        return st.rc;
    if (line != 0)
        return kino_err_set(err, KINO_EINVAL, "%s:%d: not a valid INI line (expected name = value)",
                            path, line);
    return 0;
}

int config_load_env(struct kino_config *cfg, struct kino_err *err)
{
    for (size_t i = 0; i < N_SETTINGS; i++) {
        char var[64] = "KINO_";
        size_t o = 5;
        for (const char *p = settings[i].name; *p && o + 1 < sizeof(var); p++)
            var[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        var[o] = '\0';
        const char *value = getenv(var);
        if (value && *value) {
            int rc = config_set(cfg, settings[i].name, value, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int config_load(struct kino_config *cfg, int argc, char **argv, int *ret_help,
                struct kino_err *err)
{
    config_init(cfg);
    *ret_help = 0;

    const char *file = getenv("KINO_CONFIG");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    int rc;
    if (file && *file && (rc = config_load_file(cfg, file, err)) < 0)
        return rc;
    if ((rc = config_load_env(cfg, err)) < 0)
        return rc;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *ret_help = 1;
            return 0;
        }
        if (strncmp(arg, "--", 2) != 0)
            return kino_err_set(err, KINO_EINVAL, "unexpected argument '%s'", arg);
        char name[64];
        const char *value;
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof(name))
            return kino_err_set(err, KINO_EINVAL, "unknown option '%s'", arg);
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return kino_err_set(err, KINO_EINVAL, "option --%s needs a value", name);
        }
        if (strcmp(name, "config") == 0)
            continue;
        if (!find_setting(name))
            return kino_err_set(err, KINO_EINVAL, "unknown option '--%s'; see --help", name);
        if ((rc = config_set(cfg, name, value, err)) < 0)
            return rc;
    }
    return 0;
}

void config_print_help(FILE *out)
{
    fprintf(out, "  %-22s %-26s %s\n", "--config FILE", "KINO_CONFIG",
            "INI file with the settings below (name = value)");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        char flag[48], var[48] = "KINO_";
        snprintf(flag, sizeof(flag), "--%s", settings[i].name);
        size_t o = 5;
        for (const char *p = settings[i].name; *p && o + 1 < sizeof(var); p++)
            var[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        var[o] = '\0';
        fprintf(out, "  %-22s %-26s %s\n", flag, var, settings[i].help);
    }
}
