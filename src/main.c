/* SPDX-License-Identifier: MIT */
/* kino: subcommand dispatch. */
#include <stdio.h>
int main(void) { puts("kino"); return 0; }
