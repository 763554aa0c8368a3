/* SPDX-License-Identifier: MIT */
/*
 * Subcommands. Each takes the arguments after its own name (argv[0] is the
 * subcommand name) and returns the process exit status. Each prints its own
 * usage for --help.
 */
#ifndef KINO_CLI_CLI_H
#define KINO_CLI_CLI_H

/* kino serve: HTTP API, streaming and in-process workers. */
int cmd_serve(int argc, char **argv);

/* kino transcode IN OUTDIR: the media pipeline offline, with progress on stderr. */
int cmd_transcode(int argc, char **argv);

/* kino user add|list: accounts in the data directory's database; the password on stdin. */
int cmd_user(int argc, char **argv);

#endif
