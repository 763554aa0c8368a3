/* SPDX-License-Identifier: MIT */
/*
 * Signing keys: the key set that JWTs and playback tokens are signed and
 * checked with, and the key file in the data directory (see auth.h).
 */
#include "auth/auth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/banned.h"

#define KEY_FILE_MAX  4096 /* AUTH_KEYS_MAX lines of ~80 bytes, and comments */
#define NEW_KID_BYTES 6    /* 8 base64url characters: short in URLs, unique enough per site */

/* Domain separation: a playback MAC is never a JWT signature under the same secret. */
static const char play_label[] = "kino playback token v1";

int auth_name_valid(const char *s, size_t len, size_t max, int dot)
{
    if (!s || len == 0 || len > max)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || (dot && c == '.')))
            return 0;
    }
    return 1;
}

struct auth_keys *auth_keys_new(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"libsodium could not start\"}\n");
        abort();
    }
    struct auth_keys *keys = calloc(1, sizeof(*keys));
    struct auth_key *slots = sodium_malloc(AUTH_KEYS_MAX * sizeof(*slots));
    if (!keys || !slots) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory allocating keys\"}\n");
        abort();
    }
    keys->slots = slots;
    return keys;
}

void auth_keys_free(struct auth_keys *keys)
{
    if (!keys)
        return;
    sodium_free(keys->slots); /* wipes */
    free(keys);
}

const struct auth_key *auth_keys_find(const struct auth_keys *keys, const char *kid, size_t len)
{
    for (size_t i = 0; i < keys->count; i++) {
        const struct auth_key *k = &keys->slots[i];
        if (strlen(k->kid) == len && memcmp(k->kid, kid, len) == 0)
            return k;
    }
    return NULL;
}

const struct auth_key *auth_keys_signing(const struct auth_keys *keys)
{
    return keys->count ? &keys->slots[keys->current] : NULL;
}

const char *auth_keys_current(const struct auth_keys *keys)
{
    const struct auth_key *k = auth_keys_signing(keys);
    return k ? k->kid : NULL;
}

size_t auth_keys_count(const struct auth_keys *keys)
{
    return keys->count;
}

int auth_keys_add(struct auth_keys *keys, const char *kid,
                  const unsigned char secret[AUTH_KEY_BYTES], struct kino_err *err)
{
    size_t len = kid ? strlen(kid) : 0;
    if (!auth_name_valid(kid, len, AUTH_KID_MAX, 0))
        return kino_err_set(err, KINO_EINVAL,
                            "a key id must be 1 to %d characters from A-Z a-z 0-9 - _",
                            AUTH_KID_MAX);
    if (auth_keys_find(keys, kid, len))
        return kino_err_set(err, KINO_ECONFLICT,
                            "the key id '%s' is used twice; give each key its own id", kid);
    if (keys->count == AUTH_KEYS_MAX)
        return kino_err_set(err, KINO_ETOOBIG, "at most %d signing keys can be configured",
                            AUTH_KEYS_MAX);
    struct auth_key *k = &keys->slots[keys->count];
    memcpy(k->kid, kid, len + 1);
    memcpy(k->secret, secret, AUTH_KEY_BYTES);
    crypto_auth_hmacsha256(k->play_key, (const unsigned char *)play_label, sizeof(play_label) - 1,
                           k->secret);
    crypto_auth_hmacsha256_init(&k->play_state, k->play_key, sizeof(k->play_key));
    keys->count++;
    return 0;
}

int auth_keys_add_encoded(struct auth_keys *keys, const char *kid, const char *secret_b64,
                          struct kino_err *err)
{
    unsigned char secret[AUTH_KEY_BYTES];
    size_t n = 0;
    const char *end;
    if (!secret_b64 ||
        sodium_base642bin(secret, sizeof(secret), secret_b64, strlen(secret_b64), NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        *end != '\0' || n != AUTH_KEY_BYTES) {
        sodium_memzero(secret, sizeof(secret));
        return kino_err_set(err, KINO_EINVAL,
                            "the secret of key '%s' is not %d bytes in unpadded base64url "
                            "(43 characters from A-Z a-z 0-9 - _)",
                            kid ? kid : "", AUTH_KEY_BYTES);
    }
    int rc = auth_keys_add(keys, kid, secret, err);
    sodium_memzero(secret, sizeof(secret));
    return rc;
}

/* Parse one "<kid>:<secret>" item of [start, end) and add it. */
static int add_list_item(struct auth_keys *keys, const char *start, const char *end, int position,
                         struct kino_err *err)
{
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *colon = memchr(start, ':', (size_t)(end - start));
    char kid[AUTH_KID_MAX + 1], secret[64];
    if (!colon || colon == start || (size_t)(colon - start) > AUTH_KID_MAX ||
        (size_t)(end - colon - 1) >= sizeof(secret))
        return kino_err_set(err, KINO_ECONFIG,
                            "signing key %d is not <key id>:<secret> (a key id of at most %d "
                            "characters, a 43-character base64url secret)",
                            position, AUTH_KID_MAX);
    memcpy(kid, start, (size_t)(colon - start));
    kid[colon - start] = '\0';
    memcpy(secret, colon + 1, (size_t)(end - colon - 1));
    secret[end - colon - 1] = '\0';
    struct kino_err inner = { 0 };
    int rc = auth_keys_add_encoded(keys, kid, secret, &inner);
    sodium_memzero(secret, sizeof(secret));
    if (rc < 0)
        return kino_err_set(err, KINO_ECONFIG, "signing key %d: %s", position, inner.msg);
    return 0;
}

int auth_keys_add_list(struct auth_keys *keys, const char *list, struct kino_err *err)
{
    size_t before = keys->count;
    const char *p = list ? list : "";
    int position = 1, rc = 0;
    for (;; position++) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        if ((rc = add_list_item(keys, p, end, position, err)) < 0)
            break;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (rc < 0) { /* all or nothing: a half-read list would sign with keys nobody meant */
        while (keys->count > before) {
            keys->count--;
            sodium_memzero(&keys->slots[keys->count], sizeof(keys->slots[0]));
        }
        if (before == 0)
            keys->current = 0;
    }
    return rc;
}

static size_t index_of(const struct auth_keys *keys, const char *kid)
{
    const struct auth_key *k = kid ? auth_keys_find(keys, kid, strlen(kid)) : NULL;
    return k ? (size_t)(k - keys->slots) : SIZE_MAX;
}

int auth_keys_set_current(struct auth_keys *keys, const char *kid, struct kino_err *err)
{
    size_t i = index_of(keys, kid);
    if (i == SIZE_MAX)
        return kino_err_set(err, KINO_ENOTFOUND, "there is no signing key '%s'", kid ? kid : "");
    keys->current = i;
    return 0;
}

int auth_keys_remove(struct auth_keys *keys, const char *kid, struct kino_err *err)
{
    size_t i = index_of(keys, kid);
    if (i == SIZE_MAX)
        return kino_err_set(err, KINO_ENOTFOUND, "there is no signing key '%s'", kid ? kid : "");
    if (i == keys->current)
        return kino_err_set(err, KINO_ECONFLICT,
                            "key '%s' signs new tokens; make another key current first", kid);
    memmove(&keys->slots[i], &keys->slots[i + 1], (keys->count - i - 1) * sizeof(keys->slots[0]));
    keys->count--;
    sodium_memzero(&keys->slots[keys->count], sizeof(keys->slots[0]));
    if (keys->current > i)
        keys->current--;
    return 0;
}

/* ---- the key file ---- */

static int parse_key_file(struct auth_keys *keys, const char *path, char *text,
                          struct kino_err *err)
{
    size_t before = keys->count;
    const char *current = NULL;
    int lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *p = line + strspn(line, " \t\r");
        if (*p == '\0' || *p == '#')
            continue;
        char *kid = p;
        char *sep = kid + strcspn(kid, " \t");
        if (*sep == '\0')
            return kino_err_set(err, KINO_ECONFIG,
                                "%s line %d: expected '<key id> <base64url secret>'; fix or "
                                "delete the file (a new key is then made)",
                                path, lineno);
        *sep++ = '\0';
        char *secret = sep + strspn(sep, " \t");
        secret[strcspn(secret, " \t\r")] = '\0';
        struct kino_err inner = {0};
        int rc = auth_keys_add_encoded(keys, kid, secret, &inner);
        if (rc != 0)
            return kino_err_set(err, rc == KINO_EINVAL ? KINO_ECONFIG : rc, "%s line %d: %s", path,
                                lineno, inner.msg);
        if (!current)
            current = keys->slots[keys->count - 1].kid;
    }
    if (keys->count == before)
        return kino_err_set(err, KINO_ECONFIG, "%s holds no key; delete it and a new key is made",
                            path);
    /* The file's first key signs unless keys configured before it already chose one. */
    if (before == 0)
        return auth_keys_set_current(keys, current, err);
    return 0;
}

static int read_key_file(int fd, const char *path, char *text, size_t cap, struct kino_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return kino_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return kino_err_set(err, KINO_ECONFIG, "%s is not a regular file", path);
    if (st.st_mode & 077)
        return kino_err_set(err, KINO_ECONFIG,
                            "%s holds signing keys but others may read it (mode %03o); "
                            "run chmod 600 %s",
                            path, (unsigned)(st.st_mode & 0777), path);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, text + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return kino_err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            return kino_err_set(err, KINO_ECONFIG,
                                "%s is larger than %d bytes; it is not a key file", path,
                                KEY_FILE_MAX);
    }
    text[len] = '\0';
    return 0;
}

/*
 * Write a new key file under a temporary name and link() it into place: link
 * never replaces, so when two processes start at once exactly one file wins
 * and both read it. Returns 0 (created), 1 (another process won) or -errno.
 */
static int create_key_file(const char *path, struct kino_err *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp))
        return kino_err_set(err, -ENAMETOOLONG, "the key file path %s is too long", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return kino_err_set(err, -errno, "cannot create a key file next to %s: %s", path,
                            strerror(errno));

    unsigned char raw[NEW_KID_BYTES], secret[AUTH_KEY_BYTES];
    char kid[sodium_base64_ENCODED_LEN(NEW_KID_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    char b64[sodium_base64_ENCODED_LEN(AUTH_KEY_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    char text[512];
    randombytes_buf(raw, sizeof(raw));
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2base64(kid, sizeof(kid), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int len = snprintf(text, sizeof(text),
                       "# kino signing keys (access tokens, playback links). Keep secret.\n"
                       "# One key per line: <key id> <base64url secret>; the first signs.\n"
                       "%s %s\n",
                       kid, b64);
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(b64, sizeof(b64));

    int rc = 0;
    errno = 0;
    if (fchmod(fd, 0600) != 0 || write(fd, text, (size_t)len) != len || fsync(fd) != 0)
        rc = kino_err_set(err, errno ? -errno : -EIO, "cannot write the key file %s: %s", tmp,
                          strerror(errno ? errno : EIO));
    sodium_memzero(text, sizeof(text));
    close(fd);
    if (rc == 0 && link(tmp, path) != 0) {
        if (errno == EEXIST)
            rc = 1;
        else
            rc = kino_err_set(err, -errno, "cannot create the key file %s: %s", path,
                              strerror(errno));
    }
    unlink(tmp);
    if (rc == 0) {
        /* Make the new name durable too: a key lost in a crash logs everyone out. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

int auth_keys_load_or_create(struct auth_keys *keys, const char *path, int *ret_created,
                             struct kino_err *err)
{
    if (ret_created)
        *ret_created = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        int rc = create_key_file(path, err);
        if (rc < 0)
            return rc;
        if (rc == 0 && ret_created)
            *ret_created = 1;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return kino_err_set(err, -errno, "cannot open the key file %s: %s", path, strerror(errno));

    char *text = sodium_malloc(KEY_FILE_MAX + 1);
    if (!text)
        abort();
    int rc = read_key_file(fd, path, text, KEY_FILE_MAX + 1, err);
    close(fd);
    size_t before = keys->count;
    if (rc == 0)
        rc = parse_key_file(keys, path, text, err);
    sodium_free(text);
    if (rc != 0) {
        /* All or nothing: drop the keys this file added before the bad line. */
        sodium_memzero(&keys->slots[before], (keys->count - before) * sizeof(keys->slots[0]));
        keys->count = before;
    }
    return rc;
}
