/* SPDX-License-Identifier: MIT */
/* Settings: defaults, the INI file, the environment, flags, their order and their errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "media/media.h"

static void clear_env(void)
{
    unsetenv("KINO_CONFIG");
    unsetenv("KINO_LISTEN");
    unsetenv("KINO_WORKERS");
    unsetenv("KINO_MAX_UPLOAD");
    unsetenv("KINO_DATA");
}

TestSuite(config, .init = clear_env);

static int load(struct kino_config *cfg, int argc, char **argv, struct kino_err *err)
{
    int help;
    kino_err_clear(err);
    return config_load(cfg, argc, argv, &help, err);
}

Test(config, defaults)
{
    struct kino_config cfg;
    struct kino_err err;
    char *argv[] = { "serve" };
    cr_assert_eq(load(&cfg, 1, argv, &err), 0);
    cr_assert_str_eq(cfg.listen_host, "127.0.0.1");
    cr_assert_eq(cfg.listen_port, 8080);
    cr_assert_str_eq(cfg.data_dir, "./data");
    cr_assert_eq(cfg.max_upload_bytes, 10ULL << 30);
    cr_assert_eq(cfg.workers, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
}

Test(config, flags_win_over_environment_which_wins_over_the_file)
{
    char path[] = "/tmp/kino-config-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("; comment\nlisten = 0.0.0.0:9000\nworkers = 3\ndata = /from/file\n"
          "[other]\nworkers = 99\n",
          f);
    fclose(f);
    setenv("KINO_CONFIG", path, 1);
    setenv("KINO_WORKERS", "5", 1);
    setenv("KINO_MAX_UPLOAD", "1M", 1);

    struct kino_config cfg;
    struct kino_err err;
    char *argv[] = { "serve", "--workers", "7", "--data=/from/flag" };
    cr_assert_eq(load(&cfg, 4, argv, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.listen_host, "0.0.0.0", "from the file");
    cr_assert_eq(cfg.listen_port, 9000);
    cr_assert_eq(cfg.max_upload_bytes, 1 << 20, "from the environment");
    cr_assert_eq(cfg.workers, 7, "the flag wins");
    cr_assert_str_eq(cfg.data_dir, "/from/flag");

    char *argv2[] = { "serve" };
    cr_assert_eq(load(&cfg, 1, argv2, &err), 0);
    cr_assert_eq(cfg.workers, 5, "the environment wins over the file");
    cr_assert_str_eq(cfg.data_dir, "/from/file");
    unlink(path);
}

Test(config, listen_forms)
{
    struct kino_config cfg;
    config_init(&cfg);
    cr_assert_eq(config_set(&cfg, "listen", "[::1]:8443", NULL), 0);
    cr_assert_str_eq(cfg.listen_host, "::1");
    cr_assert_eq(cfg.listen_port, 8443);
    cr_assert_eq(config_set(&cfg, "listen", "localhost:0", NULL), 0);
    cr_assert_eq(cfg.listen_port, 0);
    cr_assert_eq(config_set(&cfg, "listen", "8080", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "listen", "host:65536", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "listen", ":80", NULL), KINO_EINVAL);
}

Test(config, errors_name_the_setting_and_what_to_do)
{
    struct kino_config cfg;
    struct kino_err err;
    char *bad_flag[] = { "serve", "--wrokers", "2" };
    cr_assert_eq(load(&cfg, 3, bad_flag, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "--wrokers"), "%s", err.msg);
    char *bad_value[] = { "serve", "--max-upload", "lots" };
    cr_assert_eq(load(&cfg, 3, bad_value, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "max-upload") && strstr(err.msg, "K, M or G"), "%s", err.msg);
    char *missing[] = { "serve", "--data" };
    cr_assert_eq(load(&cfg, 2, missing, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "needs a value"), "%s", err.msg);
    setenv("KINO_WORKERS", "-1", 1);
    char *none[] = { "serve" };
    cr_assert_eq(load(&cfg, 1, none, &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "workers"), "%s", err.msg);
    setenv("KINO_CONFIG", "/nonexistent/kino.ini", 1);
    unsetenv("KINO_WORKERS");
    cr_assert_lt(load(&cfg, 1, none, &err), 0);
    cr_assert(strstr(err.msg, "/nonexistent/kino.ini"), "%s", err.msg);
}

Test(config, help_flag)
{
    struct kino_config cfg;
    int help = 0;
    char *argv[] = { "serve", "--workers", "2", "--help" };
    cr_assert_eq(config_load(&cfg, 4, argv, &help, NULL), 0);
    cr_assert_eq(help, 1);
}

Test(config, account_settings_defaults)
{
    struct kino_config cfg;
    config_init(&cfg);
    cr_assert_str_eq(cfg.registration, "on");
    cr_assert_str_eq(cfg.registration_role, "creator");
    cr_assert_eq(cfg.login_limit_address, 20);
    cr_assert_eq(cfg.login_limit_account, 5);
    cr_assert_eq(cfg.access_token_seconds, 900);
    cr_assert_eq(cfg.refresh_token_days, 30);
}

Test(config, account_settings_from_flags_and_environment)
{
    setenv("KINO_REGISTRATION", "off", 1);
    setenv("KINO_LOGIN_LIMIT_ACCOUNT", "3", 1);
    struct kino_config cfg;
    struct kino_err err;
    char *argv[] = { "serve", "--registration-role", "viewer", "--login-limit-address=50",
                     "--access-token-seconds", "300", "--refresh-token-days", "7" };
    int rc = load(&cfg, 8, argv, &err);
    unsetenv("KINO_REGISTRATION");
    unsetenv("KINO_LOGIN_LIMIT_ACCOUNT");
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_str_eq(cfg.registration, "off");
    cr_assert_str_eq(cfg.registration_role, "viewer");
    cr_assert_eq(cfg.login_limit_address, 50);
    cr_assert_eq(cfg.login_limit_account, 3);
    cr_assert_eq(cfg.access_token_seconds, 300);
    cr_assert_eq(cfg.refresh_token_days, 7);
}

Test(config, account_settings_refuse_what_they_cannot_mean)
{
    struct kino_config cfg;
    struct kino_err err;
    config_init(&cfg);
    kino_err_clear(&err);
    cr_assert_eq(config_set(&cfg, "registration", "yes", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "registration") && strstr(err.msg, "on|off"), "%s", err.msg);
    cr_assert_eq(config_set(&cfg, "registration", "", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "registration", "o", NULL), KINO_EINVAL,
                 "a prefix is not a choice");
    cr_assert_eq(config_set(&cfg, "registration", "onoff", NULL), KINO_EINVAL);
    kino_err_clear(&err);
    cr_assert_eq(config_set(&cfg, "registration-role", "admin", &err), KINO_EINVAL,
                 "registration never makes admins");
    cr_assert(strstr(err.msg, "creator|viewer"), "%s", err.msg);
    cr_assert_str_eq(cfg.registration, "on", "a refused value changes nothing");
    cr_assert_str_eq(cfg.registration_role, "creator");
    cr_assert_eq(config_set(&cfg, "login-limit-address", "0", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "login-limit-account", "many", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "access-token-seconds", "4", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "access-token-seconds", "86401", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "refresh-token-days", "0", NULL), KINO_EINVAL);
    cr_assert_eq(config_set(&cfg, "registration", "off", NULL), 0);
    cr_assert_eq(config_set(&cfg, "registration_role", "viewer", NULL), 0, "'_' names it too");
    cr_assert_str_eq(cfg.registration, "off");
    cr_assert_str_eq(cfg.registration_role, "viewer");
}

Test(config, help_lists_the_account_settings)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print_help(f);
    fclose(f);
    cr_assert(strstr(text, "--registration ") && strstr(text, "KINO_REGISTRATION_ROLE") &&
                  strstr(text, "--login-limit-address") && strstr(text, "--login-limit-account") &&
                  strstr(text, "--access-token-seconds") && strstr(text, "--refresh-token-days"),
              "%s", text);
    free(text);
}

Test(config, encoder_settings)
{
    struct kino_config cfg;
    struct kino_err err;
    char *argv[] = { "serve", "--preset", "medium", "--rate-control=cbr", "--crf", "20" };
    cr_assert_eq(load(&cfg, 1, argv, &err), 0);
    cr_assert_str_eq(cfg.x264_preset, "veryfast");
    cr_assert_eq(cfg.crf, 23);
    cr_assert_str_eq(cfg.rate_control, "capped-crf");
    cr_assert_eq(load(&cfg, 6, argv, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.x264_preset, "medium");
    cr_assert_str_eq(cfg.rate_control, "cbr");
    cr_assert_eq(cfg.crf, 20);

    /* A misspelt preset or mode is refused at start-up, naming the accepted ones, not by
     * every transcode later. */
    config_init(&cfg);
    kino_err_clear(&err);
    cr_assert_eq(config_set(&cfg, "preset", "veryfats", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "preset") && strstr(err.msg, "ultrafast|") &&
                  strstr(err.msg, "|veryslow"),
              "%s", err.msg);
    kino_err_clear(&err);
    cr_assert_eq(config_set(&cfg, "rate-control", "abr", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "rate-control") && strstr(err.msg, "capped-crf|crf|cbr"), "%s",
              err.msg);
    cr_assert_str_eq(cfg.x264_preset, "veryfast", "a refused value changes nothing");
    cr_assert_str_eq(cfg.rate_control, "capped-crf");

    /* Every mode the settings accept is one the pipeline knows (kino serve hands it over). */
    const char *modes[] = { "capped-crf", "crf", "cbr" };
    const enum media_rate_control expect[] = { MEDIA_RC_CAPPED_CRF, MEDIA_RC_CRF, MEDIA_RC_CBR };
    for (size_t i = 0; i < 3; i++) {
        enum media_rate_control rc = -1;
        cr_assert_eq(config_set(&cfg, "rate-control", modes[i], NULL), 0, "%s", modes[i]);
        cr_assert_eq(media_rate_control_parse(cfg.rate_control, &rc), 0, "%s", modes[i]);
        cr_assert_eq(rc, expect[i], "%s", modes[i]);
    }
    enum media_rate_control rc = MEDIA_RC_CBR;
    cr_assert_eq(media_rate_control_parse("abr", &rc), -1);
    cr_assert_eq(media_rate_control_parse(NULL, &rc), -1);
    cr_assert_eq(rc, MEDIA_RC_CBR, "a refused name changes nothing");
}

Test(config, repeats_setting)
{
    struct kino_config cfg;
    struct kino_err err;
    char *argv[] = { "serve", "--repeats", "once" };
    cr_assert_eq(load(&cfg, 1, argv, &err), 0);
    cr_assert_str_eq(cfg.repeats, "every-frame", "the default plays in every player");
    cr_assert_eq(load(&cfg, 3, argv, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.repeats, "once");
    config_init(&cfg);
    kino_err_clear(&err);
    cr_assert_eq(config_set(&cfg, "repeats", "never", &err), KINO_EINVAL);
    cr_assert(strstr(err.msg, "repeats") && strstr(err.msg, "once|every-frame"), "%s", err.msg);
    cr_assert_str_eq(cfg.repeats, "every-frame", "a refused value changes nothing");
}
