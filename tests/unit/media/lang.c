/* SPDX-License-Identifier: MIT */
/* Language codes: what the MP4 mdhd and the manifests get from what files carry. */
#include <criterion/criterion.h>
#include <stddef.h>

#include "media/lang.h"

struct lang_case {
    const char *code; /* as a file carries it */
    const char *mp4, *bcp47;
};

static void expect_all(const struct lang_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct media_lang l;
        media_lang_from_code(c[i].code, &l);
        const char *code = c[i].code ? c[i].code : "NULL";
        cr_expect_str_eq(l.mp4, c[i].mp4, "%s: mp4 %s, want %s", code, l.mp4, c[i].mp4);
        cr_expect_str_eq(l.bcp47, c[i].bcp47, "%s: bcp47 %s, want %s", code, l.bcp47,
                         c[i].bcp47);
    }
}

#define EXPECT_ALL(cases) expect_all(cases, sizeof(cases) / sizeof(cases[0]))

Test(lang, terminology_codes_become_the_two_letter_tag)
{
    static const struct lang_case cases[] = {
        { "fra", "fra", "fr" }, { "eng", "eng", "en" }, { "deu", "deu", "de" },
        { "zho", "zho", "zh" }, { "jpn", "jpn", "ja" }, { "heb", "heb", "he" },
    };
    EXPECT_ALL(cases);
}

Test(lang, bibliographic_codes_as_matroska_writes_them)
{
    static const struct lang_case cases[] = {
        { "fre", "fra", "fr" }, { "ger", "deu", "de" }, { "chi", "zho", "zh" },
        { "cze", "ces", "cs" }, { "dut", "nld", "nl" }, { "wel", "cym", "cy" },
    };
    EXPECT_ALL(cases);
}

Test(lang, two_letter_codes_upper_case_and_regions)
{
    static const struct lang_case cases[] = {
        { "fr", "fra", "fr" },    { "de", "deu", "de" },    { "FRA", "fra", "fr" },
        { "Ger", "deu", "de" },   { "fr-CA", "fra", "fr" }, { "en_US", "eng", "en" },
        { "xx", "und", "und" }, /* no such language */
    };
    EXPECT_ALL(cases);
}

Test(lang, codes_without_a_two_letter_one_stay)
{
    static const struct lang_case cases[] = {
        { "haw", "haw", "haw" }, /* Hawaiian */
        { "fil", "fil", "fil" }, /* Filipino */
        { "und", "und", "und" },
        { "mul", "mul", "mul" },
    };
    EXPECT_ALL(cases);
}

Test(lang, anything_else_is_undetermined)
{
    static const struct lang_case cases[] = {
        { NULL, "und", "und" },   { "", "und", "und" },    { "f", "und", "und" },
        { "fren", "und", "und" }, { "e1g", "und", "und" }, { "-fr", "und", "und" },
        { "français", "und", "und" },
    };
    EXPECT_ALL(cases);
}
