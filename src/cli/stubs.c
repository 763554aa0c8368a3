/* SPDX-License-Identifier: MIT */
/* Temporary: subcommands still being written. Removed as each lands. */
#include "cli/cli.h"
#include <stdio.h>
int cmd_serve(int argc, char **argv) { (void)argc; (void)argv; fputs("not yet\n", stderr); return 1; }
int cmd_transcode(int argc, char **argv) { (void)argc; (void)argv; fputs("not yet\n", stderr); return 1; }
