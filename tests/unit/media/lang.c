/* SPDX-License-Identifier: MIT */
/* Language codes: what the MP4 mdhd and the manifests get from what files carry. */
#include <criterion/criterion.h>

#include "media/lang.h"

static void expect(const char *code, const char *mp4, const char *bcp47)
{
    struct media_lang l;
    media_lang_from_code(code, &l);
    cr_expect_str_eq(l.mp4, mp4, "%s: mp4 %s, want %s", code ? code : "NULL", l.mp4, mp4);
    cr_expect_str_eq(l.bcp47, bcp47, "%s: bcp47 %s, want %s", code ? code : "NULL", l.bcp47,
                     bcp47);
}

Test(lang, terminology_codes_become_the_two_letter_tag)
{
    expect("fra", "fra", "fr");
    expect("eng", "eng", "en");
    expect("deu", "deu", "de");
    expect("zho", "zho", "zh");
    expect("jpn", "jpn", "ja");
    expect("heb", "heb", "he");
}

Test(lang, bibliographic_codes_as_matroska_writes_them)
{
    expect("fre", "fra", "fr");
    expect("ger", "deu", "de");
    expect("chi", "zho", "zh");
    expect("cze", "ces", "cs");
    expect("dut", "nld", "nl");
    expect("wel", "cym", "cy");
}

Test(lang, two_letter_codes_as_webm_may_carry_them)
{
    expect("fr", "fra", "fr");
    expect("de", "deu", "de");
    expect("xx", "und", "und"); /* no such language */
}

Test(lang, codes_without_a_two_letter_one_stay)
{
    expect("haw", "haw", "haw"); /* Hawaiian */
    expect("fil", "fil", "fil"); /* Filipino */
    expect("und", "und", "und");
    expect("mul", "mul", "mul");
}

Test(lang, upper_case_and_regions_as_some_muxers_write_them)
{
    expect("FRA", "fra", "fr");
    expect("Ger", "deu", "de");
    expect("fr-CA", "fra", "fr");
    expect("en_US", "eng", "en");
}

Test(lang, anything_else_is_undetermined)
{
    expect(NULL, "und", "und");
    expect("", "und", "und");
    expect("f", "und", "und");
    expect("fren", "und", "und");
    expect("e1g", "und", "und");
    expect("-fr", "und", "und");
    expect("français", "und", "und");
}
