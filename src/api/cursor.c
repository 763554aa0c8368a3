/* SPDX-License-Identifier: MIT */
/* List cursors and pages, shared by the media and user lists (see api_internal.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/util.h"
#include "core/banned.h"

static void cursor_encode(int64_t created_at, const char *id, char *out, size_t outsz)
{
    char raw[64];
    int n = snprintf(raw, sizeof(raw), "%lld.%s", (long long)created_at, id);
    sodium_bin2base64(out, outsz, (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int api_cursor_decode(const char *cursor, int64_t *ret_created_at, char ret_id[KINO_ID_LEN + 1])
{
    unsigned char raw[64];
    size_t n;
    if (strlen(cursor) > 80 ||
        sodium_base642bin(raw, sizeof(raw) - 1, cursor, strlen(cursor), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return KINO_EINVAL;
    raw[n] = '\0';
    char *dot = strchr((char *)raw, '.');
    if (!dot)
        return KINO_EINVAL;
    *dot = '\0';
    if (parse_int64((char *)raw, 0, INT64_MAX, ret_created_at) < 0 || !id_valid(dot + 1))
        return KINO_EINVAL;
    snprintf(ret_id, KINO_ID_LEN + 1, "%s", dot + 1);
    return 0;
}

void api_respond_page(struct http_request *req, json_t *items, int64_t last_created_at,
                      const char *last_id)
{
    json_t *next = json_null();
    if (last_id) {
        char cursor[128];
        cursor_encode(last_created_at, last_id, cursor, sizeof(cursor));
        next = json_string(cursor);
    }
    api_respond_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}
