/* SPDX-License-Identifier: MIT */
/*
 * The RFC 6381 codec string from H.264 extradata (media/hls.h hls_codec_avc).
 * Extradata comes from the uploaded file, so it is outside input.
 *
 * Input: the extradata bytes. Checked with abort(): on success the output is
 * NUL-terminated and is exactly "avc1." and six lowercase hex digits (the
 * form the unit tests and the playlists use); for avcC (first byte 1, 4 bytes
 * or more) the digits are bytes 1 to 3; on failure the code is KINO_EINVAL and
 * the output is untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "media/hls.h"
#include "fuzz.h"
#include "core/banned.h"

static int is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly sized (libFuzzer does this too; the replay driver as well). */
    uint8_t *copy = malloc(size ? size : 1);
    check(copy != NULL);
    if (size)
        memcpy(copy, data, size);

    char out[32];
    memset(out, 0x7f, sizeof(out));
    int rc = hls_codec_avc(copy, size, out, sizeof(out));
    if (rc != 0) {
        check(rc == KINO_EINVAL);
        for (size_t i = 0; i < sizeof(out); i++)
            check(out[i] == 0x7f);
        free(copy);
        return 0;
    }
    check(memchr(out, '\0', sizeof(out)) != NULL);
    check(strlen(out) == 11);
    check(memcmp(out, "avc1.", 5) == 0);
    for (size_t i = 5; i < 11; i++)
        check(is_lower_hex(out[i]));
    if (size >= 4 && copy[0] == 1) {
        char expect[16];
        snprintf(expect, sizeof(expect), "avc1.%02x%02x%02x", copy[1], copy[2], copy[3]);
        check(strcmp(out, expect) == 0);
    }
    free(copy);
    return 0;
}
