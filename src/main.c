/* SPDX-License-Identifier: MIT */
/* kino: subcommand dispatch. Each subcommand lives in src/cli/. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/banned.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "serve", cmd_serve, "run the HTTP API, streaming and the transcoding workers" },
    { "transcode", cmd_transcode, "transcode a file into an HLS ladder offline" },
    { "user", cmd_user, "add or list accounts (kino user add --email E --role admin)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: kino <command> [options]\n\n"
                 "kino is a self-hosted video and audio streaming platform.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'kino <command> --help' for the options of one command.\n");
}

int main(int argc, char **argv)
{
    /* libsodium's random numbers (ids) need this once before any thread starts. */
    if (sodium_init() < 0) {
        fputs("kino: cannot initialise libsodium (no source of random numbers?)\n", stderr);
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("kino 0.1.0");
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "kino: '%s' is not a command. See 'kino --help'.\n", argv[1]);
    return 2;
}
