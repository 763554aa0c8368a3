/* SPDX-License-Identifier: MIT */
/* Language codes for the manifests and the MP4 mdhd (see lang.h). */
#include "media/lang.h"

#include <stdio.h>
#include <string.h>

#include "core/banned.h"

struct iso639 {
    const char *t, *b, *one; /* ISO 639-2/T, ISO 639-2/B (or /T again), ISO 639-1 */
};

/* The 184 ISO 639-2 languages that have an ISO 639-1 code. */
static const struct iso639 codes[] = {
#include "media/lang_table.inc"
};

/*
 * The language part of `s` in lower case into `out` (4 bytes): "fre", "FRA", "fr-CA" and
 * "en_US" give "fre", "fra", "fr", "en". Returns its length, 0 when it is not 2 or 3 letters.
 */
static size_t language_part(const char *s, char out[4])
{
    size_t n = 0;
    for (; s[n] && s[n] != '-' && s[n] != '_'; n++) {
        char c = s[n];
        if (n == 3 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
        out[n] = (char)(c | 0x20);
    }
    out[n] = 0;
    return n >= 2 ? n : 0;
}

void media_lang_from_code(const char *text, struct media_lang *ret)
{
    char code[4];
    snprintf(ret->mp4, sizeof(ret->mp4), "und");
    snprintf(ret->bcp47, sizeof(ret->bcp47), "und");
    if (!text || language_part(text, code) == 0)
        return;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const struct iso639 *c = &codes[i];
        if (strcmp(code, c->t) == 0 || strcmp(code, c->b) == 0 || strcmp(code, c->one) == 0) {
            snprintf(ret->mp4, sizeof(ret->mp4), "%s", c->t);
            snprintf(ret->bcp47, sizeof(ret->bcp47), "%s", c->one);
            return;
        }
    }
    /* Not a known 639-1 code: only a 3-letter code can stand for itself in both. */
    if (strlen(code) == 3) {
        snprintf(ret->mp4, sizeof(ret->mp4), "%s", code);
        snprintf(ret->bcp47, sizeof(ret->bcp47), "%s", code);
    }
}
