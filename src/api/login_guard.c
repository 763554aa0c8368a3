/* SPDX-License-Identifier: MIT */
/*
 * Login rate limits and the hashing gate (see login_guard.h). Each limit is a
 * fixed window per key that opens with the key's first counted attempt; keys
 * live in a fixed-size table: a hash index over an array of slots, with the
 * slots on a list from most to least recently used, and the least recent one
 * reused once the array is full.
 */
#include "api/login_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sodium.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/util.h"
#include "core/banned.h"

#define NONE (-1)

struct slot {
    uint64_t key;         /* keyed hash of the address or account */
    int64_t window_start; /* ms on the guard's clock */
    uint32_t count;       /* counted in the window that opened at window_start */
    int32_t next_in_bucket;
    int32_t newer, older; /* the recency list */
};

struct table {
    struct slot *slots;
    size_t capacity, used;
    int32_t *buckets; /* heads of the hash chains; NONE when empty */
    size_t bucket_mask;
    int32_t newest, oldest;
    unsigned limit; /* 0: no limit */
    int64_t window_ms;
};

struct login_guard {
    struct login_guard_config cfg;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    pthread_mutex_t lock; /* both tables */
    struct table addresses, accounts;

    pthread_mutex_t gate_lock;
    pthread_cond_t gate_freed; /* on CLOCK_MONOTONIC */
    unsigned hashing;          /* slots taken */
};

void login_guard_config_init(struct login_guard_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->address_limit = 20;
    cfg->account_limit = 5;
    cfg->table_entries = 16384;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->hash_slots = cores > 0 ? (unsigned)cores : 1;
    cfg->hash_wait_ms = 3000;
}

/* ---- the tables -------------------------------------------------------- */

static void table_init(struct table *t, size_t capacity, unsigned limit, int64_t window_ms)
{
    t->capacity = capacity ? capacity : 1;
    t->slots = xcalloc(t->capacity, sizeof(*t->slots));
    /* Twice as many buckets as slots, a power of two: chains stay short. */
    size_t nb = 2;
    while (nb < 2 * t->capacity)
        nb *= 2;
    t->buckets = xmalloc(nb * sizeof(*t->buckets));
    for (size_t i = 0; i < nb; i++)
        t->buckets[i] = NONE;
    t->bucket_mask = nb - 1;
    t->newest = t->oldest = NONE;
    t->limit = limit;
    t->window_ms = window_ms;
}

static void table_release(struct table *t)
{
    free(t->slots);
    free(t->buckets);
}

static void recency_unlink(struct table *t, int32_t i)
{
    struct slot *s = &t->slots[i];
    if (s->newer != NONE)
        t->slots[s->newer].older = s->older;
    else
        t->newest = s->older;
    if (s->older != NONE)
        t->slots[s->older].newer = s->newer;
    else
        t->oldest = s->newer;
}

static void recency_push_newest(struct table *t, int32_t i)
{
    struct slot *s = &t->slots[i];
    s->newer = NONE;
    s->older = t->newest;
    if (t->newest != NONE)
        t->slots[t->newest].newer = i;
    t->newest = i;
    if (t->oldest == NONE)
        t->oldest = i;
}

static void bucket_unlink(struct table *t, int32_t i)
{
    int32_t *link = &t->buckets[t->slots[i].key & t->bucket_mask];
    while (*link != i)
        link = &t->slots[*link].next_in_bucket;
    *link = t->slots[i].next_in_bucket;
}

static int32_t table_find(struct table *t, uint64_t key)
{
    for (int32_t i = t->buckets[key & t->bucket_mask]; i != NONE; i = t->slots[i].next_in_bucket)
        if (t->slots[i].key == key)
            return i;
    return NONE;
}

/* The slot of `key`, made (reusing the least recently used one when full) if absent; the
 * slot becomes the most recent. Its window is reopened if it has passed. */
static struct slot *table_get(struct table *t, uint64_t key, int64_t now)
{
    int32_t i = table_find(t, key);
    if (i != NONE) {
        recency_unlink(t, i);
    } else {
        if (t->used < t->capacity) {
            i = (int32_t)t->used++;
        } else {
            i = t->oldest;
            recency_unlink(t, i);
            bucket_unlink(t, i);
        }
        struct slot *s = &t->slots[i];
        s->key = key;
        s->window_start = now;
        s->count = 0;
        size_t b = key & t->bucket_mask;
        s->next_in_bucket = t->buckets[b];
        t->buckets[b] = i;
    }
    recency_push_newest(t, i);
    struct slot *s = &t->slots[i];
    if (now - s->window_start >= t->window_ms) {
        s->window_start = now;
        s->count = 0;
    }
    return s;
}

/* 0 when the slot may count one more, else whole seconds until its window closes (>= 1). */
static unsigned wait_seconds(const struct table *t, const struct slot *s, int64_t now)
{
    if (t->limit == 0 || s->count < t->limit)
        return 0;
    int64_t ms = s->window_start + t->window_ms - now;
    int64_t secs = (ms + 999) / 1000;
    return secs < 1 ? 1 : (unsigned)secs;
}

/* ---- the guard --------------------------------------------------------- */

static int64_t guard_now(const struct login_guard *g)
{
    return g->cfg.clock_ms ? g->cfg.clock_ms(g->cfg.clock_ctx) : time_mono_ms();
}

static uint64_t key_of(const struct login_guard *g, const char *text)
{
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)text, strlen(text), g->hash_key);
    uint64_t k;
    memcpy(&k, out, sizeof(k));
    return k;
}

struct login_guard *login_guard_new(const struct login_guard_config *cfg)
{
    if (sodium_init() < 0)
        abort();
    struct login_guard *g = xcalloc(1, sizeof(*g));
    g->cfg = *cfg;
    if (g->cfg.hash_slots == 0)
        g->cfg.hash_slots = 1;
    crypto_shorthash_keygen(g->hash_key);
    pthread_mutex_init(&g->lock, NULL);
    table_init(&g->addresses, cfg->table_entries, cfg->address_limit,
               LOGIN_GUARD_ADDRESS_WINDOW_S * 1000LL);
    table_init(&g->accounts, cfg->table_entries, cfg->account_limit,
               LOGIN_GUARD_ACCOUNT_WINDOW_S * 1000LL);

    pthread_mutex_init(&g->gate_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->gate_freed, &ca);
    pthread_condattr_destroy(&ca);
    return g;
}

void login_guard_free(struct login_guard *g)
{
    if (!g)
        return;
    table_release(&g->addresses);
    table_release(&g->accounts);
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->gate_lock);
    pthread_cond_destroy(&g->gate_freed);
    sodium_memzero(g->hash_key, sizeof(g->hash_key));
    free(g);
}

unsigned login_guard_attempt(struct login_guard *g, const char *address, const char *account)
{
    uint64_t ak = key_of(g, address), uk = key_of(g, account);
    pthread_mutex_lock(&g->lock);
    int64_t now = guard_now(g);
    struct slot *a = table_get(&g->addresses, ak, now);
    unsigned wait = wait_seconds(&g->addresses, a, now);
    if (wait == 0) {
        struct slot *u = table_get(&g->accounts, uk, now);
        wait = wait_seconds(&g->accounts, u, now);
        if (wait == 0) {
            a->count++;
            u->count++;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return wait;
}

void login_guard_succeeded(struct login_guard *g, const char *account)
{
    uint64_t uk = key_of(g, account);
    pthread_mutex_lock(&g->lock);
    int32_t i = table_find(&g->accounts, uk);
    if (i != NONE) {
        g->accounts.slots[i].count = 0;
        g->accounts.slots[i].window_start = guard_now(g);
    }
    pthread_mutex_unlock(&g->lock);
}

int login_guard_hash_enter(struct login_guard *g)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += g->cfg.hash_wait_ms / 1000;
    until.tv_nsec += (long)(g->cfg.hash_wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&g->gate_lock);
    while (g->hashing >= g->cfg.hash_slots) {
        if (pthread_cond_timedwait(&g->gate_freed, &g->gate_lock, &until) == ETIMEDOUT &&
            g->hashing >= g->cfg.hash_slots) {
            rc = -EAGAIN;
            break;
        }
    }
    if (rc == 0)
        g->hashing++;
    pthread_mutex_unlock(&g->gate_lock);
    return rc;
}

void login_guard_hash_leave(struct login_guard *g)
{
    pthread_mutex_lock(&g->gate_lock);
    if (g->hashing > 0)
        g->hashing--;
    pthread_cond_signal(&g->gate_freed);
    pthread_mutex_unlock(&g->gate_lock);
}

void login_guard_address_key(const char *address, char out[LOGIN_GUARD_ADDRESS_KEY_MAX])
{
    struct in6_addr a6;
    if (strchr(address, ':') && inet_pton(AF_INET6, address, &a6) == 1) {
        memset(&a6.s6_addr[8], 0, 8);
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6, text, sizeof(text));
        snprintf(out, LOGIN_GUARD_ADDRESS_KEY_MAX, "%s/64", text);
    } else {
        snprintf(out, LOGIN_GUARD_ADDRESS_KEY_MAX, "%s", address);
    }
}
