/* SPDX-License-Identifier: MIT */
/*
 * Language codes between what files carry and what manifests want. Files
 * carry ISO 639-2 codes: MP4's mdhd the terminology code ("fra", "deu"),
 * Matroska usually the bibliographic one ("fre", "ger"), WebM sometimes an
 * ISO 639-1 code ("fr"). HLS's LANGUAGE and DASH's @lang are BCP 47 tags
 * (RFC 5646), whose language subtag is the shortest ISO 639 code: the ISO
 * 639-1 code where there is one (the IANA registry has "fr", not "fra"), and
 * players match them against the viewer's languages. Pure, unit-tested;
 * private to the media module.
 */
#ifndef KINO_MEDIA_LANG_H
#define KINO_MEDIA_LANG_H

struct media_lang {
    char mp4[4];   /* ISO 639-2/T for the CMAF mdhd: "fra"; "und" when unknown */
    char bcp47[4]; /* for HLS and DASH: "fr", or the 3-letter code without a 2-letter one */
};

/*
 * From a container's language tag (NULL, or any text): an ISO 639-2/T or /B
 * code or an ISO 639-1 code, in either case, maybe followed by a region
 * ("fr-CA", "en_US": the region is left out). A 3-letter code without an ISO
 * 639-1 equivalent is kept as it is ("haw"); an unknown 2-letter code, other
 * text and NULL give "und" in both.
 */
void media_lang_from_code(const char *text, struct media_lang *ret);

#endif
