/* SPDX-License-Identifier: MIT */
/*
 * Streaming multipart/form-data parser (RFC 7578 over RFC 2046) in fixed memory:
 * the part headers (capped), the delimiter, and a count of delimiter bytes held
 * back at a chunk edge. Part data is passed through in place, never buffered.
 */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "core/banned.h"

#define MP_HEADERS_MAX 8192
#define MP_BOUNDARY_MAX 70 /* RFC 2046 §5.1.1 */

enum mp_state {
    MP_PREAMBLE,    /* looking for the first delimiter; bytes dropped */
    MP_AFTER_DELIM, /* right after "--boundary": "--", padding, CRLF */
    MP_AFTER_DASH,  /* seen one '-' of the closing "--" */
    MP_PADDING,     /* transport padding before the CRLF */
    MP_LF,          /* seen the CR of the boundary line */
    MP_HEADERS,     /* part headers up to the empty line */
    MP_DATA,        /* part body up to the next delimiter */
    MP_EPILOGUE,    /* after the closing delimiter */
    MP_FAILED,
};

struct multipart {
    struct multipart_callbacks cb;
    void *ctx;
    enum mp_state state;
    int error;
    /* The delimiter is CRLF "--" boundary; a body may start with "--boundary"
     * without the CRLF, so parsing starts with those two bytes already matched. */
    char delim[4 + MP_BOUNDARY_MAX + 1];
    size_t delim_len;
    size_t matched;    /* delimiter bytes seen and held back (always a prefix of delim) */
    int in_part;       /* part_begin called, part_end not yet */
    size_t hdr_len;
    char hdr[MP_HEADERS_MAX + 1];
    /* The pending run of part data, flushed to part_data as one call. */
    const char *run;
    size_t run_len;
};

/* ---- header parameter parsing, shared by Content-Type and Content-Disposition ---- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/*
 * Read the next `; name=value` parameter from *sp into `name` and `value` (both
 * NUL-terminated, truncated to their sizes). Quoted values may use backslash
 * escapes. Returns 1 when one was read, 0 at the end, -1 when malformed.
 */
static int next_param(const char **sp, char *name, size_t name_sz, char *value, size_t value_sz)
{
    const char *s = skip_ws(*sp);
    if (*s == '\0')
        return 0;
    if (*s != ';')
        return -1;
    s = skip_ws(s + 1);
    if (*s == '\0') { /* a trailing ';' is common and harmless */
        *sp = s;
        return 0;
    }
    size_t n = 0;
    while (*s && *s != '=' && *s != ';' && *s != ' ' && *s != '\t') {
        if (n + 1 < name_sz)
            name[n++] = *s;
        s++;
    }
    name[n] = '\0';
    s = skip_ws(s);
    if (*s != '=' || n == 0)
        return -1;
    s = skip_ws(s + 1);
    n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            if (n + 1 < value_sz)
                value[n++] = *s;
            s++;
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        while (*s && *s != ';' && *s != ' ' && *s != '\t') {
            if (n + 1 < value_sz)
                value[n++] = *s;
            s++;
        }
    }
    value[n] = '\0';
    *sp = s;
    return 1;
}

/* Case-insensitive "type/subtype" at the start of `s`; returns the rest or NULL. */
static const char *match_type(const char *s, const char *type)
{
    s = skip_ws(s);
    size_t n = strlen(type);
    if (strncasecmp(s, type, n) != 0)
        return NULL;
    s += n;
    if (*s != '\0' && *s != ';' && *s != ' ' && *s != '\t')
        return NULL;
    return s;
}

static int boundary_ok(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        /* bchars of RFC 2046: never CR or LF, which the delimiter scan relies on. */
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              strchr("'()+_,-./:=? ", c)))
            return 0;
    }
    return 1;
}

int multipart_new(const char *content_type, const struct multipart_callbacks *cb, void *ctx,
                  struct multipart **ret_mp, struct kino_err *err)
{
    const char *s = content_type ? match_type(content_type, "multipart/form-data") : NULL;
    if (!s)
        return kino_err_set(err, KINO_EPROTO,
                            "the body is not multipart/form-data; send the form with "
                            "Content-Type: multipart/form-data; boundary=...");
    char name[32], value[MP_BOUNDARY_MAX + 2];
    value[0] = '\0';
    int r, found = 0;
    while ((r = next_param(&s, name, sizeof(name), value, sizeof(value))) > 0) {
        if (strcasecmp(name, "boundary") == 0) {
            found = 1;
            break;
        }
    }
    if (r < 0 || !found || !boundary_ok(value))
        return kino_err_set(err, KINO_EPROTO,
                            "the multipart Content-Type has no valid boundary parameter "
                            "(1 to 70 characters); send the header the form library produces");
    struct multipart *mp = xcalloc(1, sizeof(*mp));
    mp->cb = *cb;
    mp->ctx = ctx;
    mp->state = MP_PREAMBLE;
    mp->delim_len = (size_t)snprintf(mp->delim, sizeof(mp->delim), "\r\n--%s", value);
    mp->matched = 2;
    *ret_mp = mp;
    return 0;
}

void multipart_free(struct multipart *mp)
{
    free(mp);
}

static int fail(struct multipart *mp, int code, struct kino_err *err, const char *msg)
{
    mp->state = MP_FAILED;
    mp->error = code;
    if (code == KINO_EPROTO)
        kino_err_set(err, code, "malformed multipart body: %s", msg);
    return code;
}

static int flush_run(struct multipart *mp)
{
    if (mp->run_len == 0)
        return 0;
    const char *p = mp->run;
    size_t n = mp->run_len;
    mp->run_len = 0;
    mp->run = NULL;
    return mp->cb.part_data ? mp->cb.part_data(mp->ctx, p, n) : 0;
}

/* Queue bytes of part data; contiguous bytes of one chunk become one callback. */
static int emit(struct multipart *mp, const char *p, size_t n)
{
    if (mp->state != MP_DATA || n == 0)
        return 0; /* preamble bytes are dropped */
    if (mp->run_len && mp->run + mp->run_len == p) {
        mp->run_len += n;
        return 0;
    }
    int r = flush_run(mp);
    mp->run = p;
    mp->run_len = n;
    return r;
}

/* Parse the collected part headers (mp->hdr, ending in CRLF CRLF) and start the part. */
static int begin_part(struct multipart *mp, struct kino_err *err)
{
    char *name = NULL, *filename = NULL, *ctype = NULL;
    int disposition = 0;
    char *line = mp->hdr;
    /* Values are copied here and borrowed by part_begin for the duration of the call. */
    char name_buf[1024], file_buf[1024], type_buf[256];
    mp->hdr[mp->hdr_len] = '\0';
    while (*line) {
        char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        *eol = '\0';
        if (line[0] == '\0')
            break; /* the empty line that ends the headers */
        char *colon = strchr(line, ':');
        if (!colon)
            return fail(mp, KINO_EPROTO, err, "a part header line has no ':'");
        *colon = '\0';
        const char *val = skip_ws(colon + 1);
        if (strcasecmp(line, "Content-Disposition") == 0) {
            const char *s = match_type(val, "form-data");
            if (!s)
                return fail(mp, KINO_EPROTO, err,
                            "a part's Content-Disposition is not form-data");
            disposition = 1;
            char pname[32], pval[1024];
            int r;
            while ((r = next_param(&s, pname, sizeof(pname), pval, sizeof(pval))) > 0) {
                if (strcasecmp(pname, "name") == 0) {
                    snprintf(name_buf, sizeof(name_buf), "%s", pval);
                    name = name_buf;
                } else if (strcasecmp(pname, "filename") == 0) {
                    snprintf(file_buf, sizeof(file_buf), "%s", pval);
                    filename = file_buf;
                }
            }
            if (r < 0)
                return fail(mp, KINO_EPROTO, err, "a part's Content-Disposition is malformed");
        } else if (strcasecmp(line, "Content-Type") == 0) {
            snprintf(type_buf, sizeof(type_buf), "%s", val);
            size_t n = strlen(type_buf);
            while (n && (type_buf[n - 1] == ' ' || type_buf[n - 1] == '\t'))
                type_buf[--n] = '\0';
            ctype = type_buf;
        }
        line = eol + 2;
    }
    if (!disposition || !name)
        return fail(mp, KINO_EPROTO, err,
                    "a part has no Content-Disposition: form-data with a name");
    mp->hdr_len = 0;
    mp->state = MP_DATA;
    mp->in_part = 1;
    int r = mp->cb.part_begin ? mp->cb.part_begin(mp->ctx, name, filename, ctype) : 0;
    if (r < 0)
        return fail(mp, r, err, "");
    return 0;
}

static int end_part(struct multipart *mp, struct kino_err *err)
{
    int r = flush_run(mp);
    if (r < 0)
        return fail(mp, r, err, "");
    if (!mp->in_part)
        return 0;
    mp->in_part = 0;
    r = mp->cb.part_end ? mp->cb.part_end(mp->ctx) : 0;
    if (r < 0)
        return fail(mp, r, err, "");
    return 0;
}

/* Delimiter scan for PREAMBLE and DATA; returns bytes consumed, or a negative code. */
static int scan(struct multipart *mp, const char *data, size_t len, size_t *used,
                struct kino_err *err)
{
    size_t i = 0;
    while (i < len) {
        if (mp->matched == 0) {
            /* Fast path: everything before the next CR is data. */
            const char *cr = memchr(data + i, '\r', len - i);
            size_t n = cr ? (size_t)(cr - (data + i)) : len - i;
            int r = emit(mp, data + i, n);
            if (r < 0)
                return fail(mp, r, err, "");
            i += n;
            if (!cr)
                break;
        }
        char c = data[i];
        if (c == mp->delim[mp->matched]) {
            mp->matched++;
            i++;
            if (mp->matched == mp->delim_len) {
                mp->matched = 0;
                /* Bytes of the delimiter in this chunk were never queued, so the run is exact. */
                int r = end_part(mp, err);
                if (r < 0)
                    return r;
                mp->state = MP_AFTER_DELIM;
                *used = i;
                return 0;
            }
            continue;
        }
        /* Mismatch: the held bytes were data. CR appears only at delim[0] (bchars exclude
         * it), so no shorter prefix can still match and the scan restarts at 0. */
        size_t held = mp->matched;
        mp->matched = 0;
        if (held) {
            int r = emit(mp, mp->delim, held);
            if (r < 0)
                return fail(mp, r, err, "");
        }
        if (c != '\r') {
            int r = emit(mp, data + i, 1);
            if (r < 0)
                return fail(mp, r, err, "");
            i++;
        }
    }
    *used = len;
    return 0;
}

int multipart_feed(struct multipart *mp, const char *data, size_t len, struct kino_err *err)
{
    size_t i = 0;
    while (i < len) {
        char c = data[i];
        switch (mp->state) {
        case MP_FAILED:
            return mp->error;
        case MP_PREAMBLE:
        case MP_DATA: {
            size_t used = 0;
            int r = scan(mp, data + i, len - i, &used, err);
            if (r < 0)
                return r;
            i += used;
            break;
        }
        case MP_AFTER_DELIM:
            i++;
            if (c == '-')
                mp->state = MP_AFTER_DASH;
            else if (c == ' ' || c == '\t')
                mp->state = MP_PADDING;
            else if (c == '\r')
                mp->state = MP_LF;
            else
                return fail(mp, KINO_EPROTO, err, "unexpected bytes after a boundary");
            break;
        case MP_AFTER_DASH:
            i++;
            if (c != '-')
                return fail(mp, KINO_EPROTO, err, "unexpected bytes after a boundary");
            mp->state = MP_EPILOGUE;
            break;
        case MP_PADDING:
            i++;
            if (c == '\r')
                mp->state = MP_LF;
            else if (c != ' ' && c != '\t')
                return fail(mp, KINO_EPROTO, err, "unexpected bytes after a boundary");
            break;
        case MP_LF:
            i++;
            if (c != '\n')
                return fail(mp, KINO_EPROTO, err, "a boundary line does not end with CRLF");
            mp->state = MP_HEADERS;
            mp->hdr_len = 0;
            break;
        case MP_HEADERS:
            if (mp->hdr_len == MP_HEADERS_MAX)
                return fail(mp, KINO_EPROTO, err, "part headers are longer than 8 KiB");
            mp->hdr[mp->hdr_len++] = c;
            i++;
            if (mp->hdr_len == 2 && memcmp(mp->hdr, "\r\n", 2) == 0)
                return fail(mp, KINO_EPROTO, err,
                            "a part has no Content-Disposition: form-data with a name");
            if (mp->hdr_len >= 4 && memcmp(mp->hdr + mp->hdr_len - 4, "\r\n\r\n", 4) == 0) {
                int r = begin_part(mp, err);
                if (r < 0)
                    return r;
            }
            break;
        case MP_EPILOGUE:
            /* RFC 2046 allows an epilogue; we accept only the line breaks clients add. */
            i++;
            if (c != '\r' && c != '\n' && c != ' ' && c != '\t')
                return fail(mp, KINO_EPROTO, err, "data after the closing boundary");
            break;
        }
    }
    /* The caller's chunk is gone after we return: hand over what is queued now. */
    int r = flush_run(mp);
    if (r < 0)
        return fail(mp, r, err, "");
    return 0;
}

int multipart_finish(struct multipart *mp, struct kino_err *err)
{
    if (mp->state == MP_FAILED)
        return mp->error;
    if (mp->state != MP_EPILOGUE)
        return fail(mp, KINO_EPROTO, err,
                    "body ended early, before the closing boundary; send the whole form");
    return 0;
}
