/* SPDX-License-Identifier: MIT */
/* The login rate limits and the hashing gate, on a clock the tests move by hand. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "api/login_guard.h"

static int64_t fake_now;

static int64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static struct login_guard *guard(unsigned per_address, unsigned per_account, size_t entries)
{
    struct login_guard_config cfg;
    login_guard_config_init(&cfg);
    cfg.address_limit = per_address;
    cfg.account_limit = per_account;
    cfg.table_entries = entries;
    cfg.clock_ms = fake_clock;
    fake_now = 1000000;
    return login_guard_new(&cfg);
}

Test(login_guard, defaults_are_those_documented)
{
    struct login_guard_config cfg;
    login_guard_config_init(&cfg);
    cr_assert_eq(cfg.address_limit, 20);
    cr_assert_eq(cfg.account_limit, 5);
    cr_assert_geq(cfg.hash_slots, 1);
    cr_assert_eq(cfg.clock_ms, NULL);
}

Test(login_guard, address_limit_refuses_with_the_seconds_left_then_allows_after_the_minute)
{
    struct login_guard *g = guard(3, 0, 64);
    char account[32];
    for (int i = 0; i < 3; i++) {
        snprintf(account, sizeof(account), "user%d@example.com", i);
        cr_assert_eq(login_guard_attempt(g, "192.0.2.1", account), 0, "attempt %d", i);
    }
    fake_now += 20000; /* 20 s into the window */
    cr_assert_eq(login_guard_attempt(g, "192.0.2.1", "other@example.com"), 40);
    fake_now += 39500;
    cr_assert_eq(login_guard_attempt(g, "192.0.2.1", "other@example.com"), 1, "rounded up");
    cr_assert_eq(login_guard_attempt(g, "192.0.2.2", "other@example.com"), 0,
                 "another address is not limited");
    fake_now += 500; /* the window has passed */
    cr_assert_eq(login_guard_attempt(g, "192.0.2.1", "other@example.com"), 0);
    login_guard_free(g);
}

Test(login_guard, account_limit_counts_failures_across_addresses_for_15_minutes)
{
    struct login_guard *g = guard(0, 5, 64);
    char address[32];
    for (int i = 0; i < 5; i++) {
        snprintf(address, sizeof(address), "198.51.100.%d", i);
        cr_assert_eq(login_guard_attempt(g, address, "victim@example.com"), 0);
        fake_now += 1000;
    }
    /* 5 s after the first failure: the window has 895 s left. */
    cr_assert_eq(login_guard_attempt(g, "203.0.113.9", "victim@example.com"), 895);
    cr_assert_eq(login_guard_attempt(g, "203.0.113.9", "someone@example.com"), 0,
                 "other accounts are not limited");
    fake_now += 895 * 1000;
    cr_assert_eq(login_guard_attempt(g, "203.0.113.9", "victim@example.com"), 0);
    login_guard_free(g);
}

Test(login_guard, a_refused_attempt_is_not_counted)
{
    struct login_guard *g = guard(2, 100, 64);
    cr_assert_eq(login_guard_attempt(g, "a", "x"), 0);
    cr_assert_eq(login_guard_attempt(g, "a", "x"), 0);
    for (int i = 0; i < 10; i++)
        cr_assert_neq(login_guard_attempt(g, "a", "x"), 0);
    fake_now += 60000;
    cr_assert_eq(login_guard_attempt(g, "a", "x"), 0);
    cr_assert_eq(login_guard_attempt(g, "a", "x"), 0, "the refusals did not eat the new window");
    login_guard_free(g);
}

Test(login_guard, success_clears_the_account_count)
{
    struct login_guard *g = guard(0, 3, 64);
    cr_assert_eq(login_guard_attempt(g, "a", "me@example.com"), 0);
    cr_assert_eq(login_guard_attempt(g, "a", "me@example.com"), 0);
    cr_assert_eq(login_guard_attempt(g, "a", "me@example.com"), 0);
    login_guard_succeeded(g, "me@example.com");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(login_guard_attempt(g, "a", "me@example.com"), 0, "attempt %d", i);
    cr_assert_neq(login_guard_attempt(g, "a", "me@example.com"), 0);
    login_guard_succeeded(g, "nobody@example.com"); /* unknown: nothing to clear, no harm */
    login_guard_free(g);
}

Test(login_guard, a_full_table_forgets_the_oldest_keys_and_stays_right_for_recent_ones)
{
    struct login_guard *g = guard(2, 0, 8);
    /* A recent address reaches its limit. */
    cr_assert_eq(login_guard_attempt(g, "attacker", "x"), 0);
    cr_assert_eq(login_guard_attempt(g, "attacker", "x"), 0);
    cr_assert_neq(login_guard_attempt(g, "attacker", "x"), 0);
    /* A flood of 10000 other addresses, each touching the table once... */
    char address[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
        cr_assert_eq(login_guard_attempt(g, address, "x"), 0);
    }
    /* ...pushes the attacker out of a table of 8: it was the least recently used. */
    cr_assert_eq(login_guard_attempt(g, "attacker", "x"), 0);
    /* The most recent keys are still counted exactly. */
    for (int i = 9993; i < 10000; i++) {
        snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
        cr_assert_eq(login_guard_attempt(g, address, "x"), 0, "second attempt of %s", address);
        cr_assert_neq(login_guard_attempt(g, address, "x"), 0, "third attempt of %s", address);
    }
    cr_assert_eq(login_guard_attempt(g, "attacker", "x"), 0);
    cr_assert_neq(login_guard_attempt(g, "attacker", "x"), 0);
    login_guard_free(g);
}

Test(login_guard, the_hash_gate_admits_its_slots_and_refuses_one_more)
{
    struct login_guard_config cfg;
    login_guard_config_init(&cfg);
    cfg.hash_slots = 2;
    cfg.hash_wait_ms = 0;
    struct login_guard *g = login_guard_new(&cfg);
    cr_assert_eq(login_guard_hash_enter(g), 0);
    cr_assert_eq(login_guard_hash_enter(g), 0);
    cr_assert_eq(login_guard_hash_enter(g), -EAGAIN);
    login_guard_hash_leave(g);
    cr_assert_eq(login_guard_hash_enter(g), 0, "a freed slot is taken again");
    cr_assert_eq(login_guard_hash_enter(g), -EAGAIN);
    login_guard_hash_leave(g);
    login_guard_hash_leave(g);
    login_guard_free(g);
}

static void *enter_and_leave(void *arg)
{
    struct login_guard *g = arg;
    intptr_t rc = login_guard_hash_enter(g);
    if (rc == 0)
        login_guard_hash_leave(g);
    return (void *)rc;
}

Test(login_guard, a_waiting_hash_gets_the_slot_once_it_is_freed)
{
    struct login_guard_config cfg;
    login_guard_config_init(&cfg);
    cfg.hash_slots = 1;
    cfg.hash_wait_ms = 60000; /* far longer than the test: it must be woken, not time out */
    struct login_guard *g = login_guard_new(&cfg);
    cr_assert_eq(login_guard_hash_enter(g), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, enter_and_leave, g), 0);
    login_guard_hash_leave(g);
    void *rc;
    pthread_join(t, &rc);
    cr_assert_eq((intptr_t)rc, 0);
    login_guard_free(g);
}

Test(login_guard, free_accepts_null)
{
    login_guard_free(NULL);
}

Test(address_key, ipv4_as_is_ipv6_by_its_64)
{
    char a[LOGIN_GUARD_ADDRESS_KEY_MAX], b[LOGIN_GUARD_ADDRESS_KEY_MAX];
    login_guard_address_key("203.0.113.7", a);
    cr_expect_str_eq(a, "203.0.113.7");
    login_guard_address_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", a);
    login_guard_address_key("2001:db8:1:2::1", b);
    cr_expect_str_eq(a, b, "one /64 is one client");
    cr_expect_str_eq(a, "2001:db8:1:2::/64");
    login_guard_address_key("2001:db8:1:3::1", b);
    cr_expect_str_neq(a, b, "another /64 is another client");
    login_guard_address_key("not an address", a);
    cr_expect_str_eq(a, "not an address");
}
