/* SPDX-License-Identifier: MIT */
/*
 * Functions that make overflows or silent failures easy. Included last by every
 * kino .c file so that a call to one of them is a compile error; use snprintf,
 * the buf builder, or strtol with an end pointer instead.
 */
#ifndef KINO_CORE_BANNED_H
#define KINO_CORE_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef strtok
#define strtok(x, y) BANNED(strtok)

#endif
