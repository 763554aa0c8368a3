/* SPDX-License-Identifier: MIT */
/* Range header forms against a file size, with the exact positions expected. */
#include <criterion/criterion.h>

#include "http/range.h"

static struct range r;

static void one(const char *h, uint64_t size, uint64_t start, uint64_t end)
{
    r = (struct range){ 99, 99 };
    cr_assert_eq(range_parse(h, size, &r), RANGE_ONE, "%s", h);
    cr_assert_eq(r.start, start, "%s: start %lu", h, (unsigned long)r.start);
    cr_assert_eq(r.end, end, "%s: end %lu", h, (unsigned long)r.end);
}

static void kind(const char *h, uint64_t size, enum range_kind k)
{
    cr_assert_eq(range_parse(h, size, &r), k, "%s", h ? h : "(null)");
}

Test(range, simple)
{
    one("bytes=0-0", 1000, 0, 0);
    one("bytes=0-499", 1000, 0, 499);
    one("bytes=500-999", 1000, 500, 999);
    one("bytes=10-19", 1000, 10, 19);
}

Test(range, open_ended)
{
    one("bytes=100-", 1000, 100, 999);
    one("bytes=999-", 1000, 999, 999);
    one("bytes=0-", 1, 0, 0);
}

Test(range, suffix)
{
    one("bytes=-500", 1000, 500, 999);
    one("bytes=-1", 1000, 999, 999);
    one("bytes=-1000", 1000, 0, 999);
    one("bytes=-5000", 1000, 0, 999);
}

Test(range, end_past_size_is_clamped)
{
    one("bytes=900-5000", 1000, 900, 999);
    one("bytes=0-99999999999999999999999", 1000, 0, 999);
}

Test(range, whitespace_and_case)
{
    one(" bytes = 1-2 ", 10, 1, 2);
    one("Bytes=1-2", 10, 1, 2);
}

Test(range, unsatisfiable)
{
    kind("bytes=1000-", 1000, RANGE_UNSATISFIABLE);
    kind("bytes=1000-2000", 1000, RANGE_UNSATISFIABLE);
    kind("bytes=99999999999999999999999-", 1000, RANGE_UNSATISFIABLE);
    kind("bytes=-0", 1000, RANGE_UNSATISFIABLE);
    kind("bytes=0-", 0, RANGE_UNSATISFIABLE);
    kind("bytes=0-10", 0, RANGE_UNSATISFIABLE);
    kind("bytes=-10", 0, RANGE_UNSATISFIABLE);
}

Test(range, ignored)
{
    kind(NULL, 1000, RANGE_NONE);
    kind("", 1000, RANGE_NONE);
    kind("items=0-10", 1000, RANGE_NONE);
    kind("bytes", 1000, RANGE_NONE);
    kind("bytes=", 1000, RANGE_NONE);
    kind("bytes=-", 1000, RANGE_NONE);
    kind("bytes=a-b", 1000, RANGE_NONE);
    kind("bytes=10-5", 1000, RANGE_NONE);
    kind("bytes=5", 1000, RANGE_NONE);
    kind("bytes=1-2x", 1000, RANGE_NONE);
    kind("bytes=--5", 1000, RANGE_NONE);
    kind("bytes=+1-2", 1000, RANGE_NONE);
}

Test(range, several_ranges_send_all)
{
    kind("bytes=0-1,5-6", 1000, RANGE_NONE);
    kind("bytes=0-1, 5-6", 1000, RANGE_NONE);
    kind("bytes=-5,0-1", 1000, RANGE_NONE);
}
