/* SPDX-License-Identifier: MIT */
/*
 * What stands in front of password checks: login rate limits kept in memory
 * (per client address: attempts a minute; per account: failed attempts in 15
 * minutes) and a gate that bounds how many Argon2 hashes or verifications run
 * at once (each takes ~70 ms of a core and 64 MiB). One per `kino serve`
 * process (struct kino's login_guard); limits are per process, not shared
 * between nodes. docs/internals/auth.md has the reasoning.
 *
 * Memory is fixed when the guard is made: each table holds a fixed number of
 * keys and, once full, forgets the key used least recently, so a flood of
 * addresses or emails cannot grow it. Keys are kept only as a keyed 64-bit
 * hash (SipHash with a random key), never as text.
 *
 * Threading: every function may be called from any thread at once.
 */
#ifndef KINO_API_LOGIN_GUARD_H
#define KINO_API_LOGIN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#define LOGIN_GUARD_ADDRESS_WINDOW_S 60       /* the address limit counts attempts a minute */
#define LOGIN_GUARD_ACCOUNT_WINDOW_S (15 * 60) /* the account limit counts failures in 15 minutes */
#define LOGIN_GUARD_BUSY_RETRY_S 2            /* Retry-After when the hashing gate stays full */

struct login_guard_config {
    unsigned address_limit; /* attempts per address per minute; 0: no limit */
    unsigned account_limit; /* failed attempts per account per 15 minutes; 0: no limit */
    size_t table_entries;   /* keys remembered per table (addresses, accounts); at least 1 */
    unsigned hash_slots;    /* hashes or verifications at once; at least 1 */
    unsigned hash_wait_ms;  /* how long a hash waits for a free slot before giving up */
    /* The clock the windows are measured on, in ms (any origin); NULL: the monotonic clock.
     * Tests pass their own to move time without sleeping. */
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
};

/*
 * Defaults: 20 attempts per address a minute, 5 failures per account per 15
 * minutes, 16384 keys per table (~0.5 MiB each), one hash slot per core,
 * 3 s of waiting, the monotonic clock.
 */
void login_guard_config_init(struct login_guard_config *cfg);

struct login_guard;

/* Make a guard (cfg is copied). Allocation failure aborts. Caller frees with login_guard_free. */
struct login_guard *login_guard_new(const struct login_guard_config *cfg);

/* Accepts NULL. No thread may be using the guard. */
void login_guard_free(struct login_guard *g);

/*
 * A login attempt from `address` (a client address, or any text that names
 * where it comes from) for `account` (the lower-cased email, whether or not
 * such an account exists). Returns 0 when it may go ahead, and then counts it:
 * one attempt against the address, and one failure against the account until
 * login_guard_succeeded clears it (so that concurrent attempts cannot slip past
 * the limit before their failures are recorded). Returns the seconds to wait
 * (>= 1) when a limit is reached; a refused attempt is not counted.
 */
unsigned login_guard_attempt(struct login_guard *g, const char *address, const char *account);

/* Room for login_guard_address_key's output. */
#define LOGIN_GUARD_ADDRESS_KEY_MAX 56

/*
 * What the per-address limit counts an address by: the address itself, but an
 * IPv6 client by its /64, since one host commonly holds a whole /64 and could
 * otherwise take a fresh address for every attempt. Every caller of
 * login_guard_attempt (login, a password change) uses this, so they share one
 * budget per client.
 */
void login_guard_address_key(const char *address, char out[LOGIN_GUARD_ADDRESS_KEY_MAX]);

/* The password was right: forget the account's failures. */
void login_guard_succeeded(struct login_guard *g, const char *account);

/*
 * Take a slot of the hashing gate before an Argon2 hash or verification,
 * waiting up to hash_wait_ms for one. 0, or -EAGAIN when none freed up in
 * time (answer 503 with Retry-After: LOGIN_GUARD_BUSY_RETRY_S). Every 0 must
 * be paired with one login_guard_hash_leave.
 */
int login_guard_hash_enter(struct login_guard *g);
void login_guard_hash_leave(struct login_guard *g);

#endif
