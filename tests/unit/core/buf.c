/* SPDX-License-Identifier: MIT */
/* The capped builder: appends, formatting and the cap. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

Test(buf, starts_empty_and_terminated)
{
    struct buf b = BUF_INIT(16);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(b.ptr, "");
    buf_release(&b);
}

Test(buf, appends_and_formats)
{
    struct buf b;
    buf_init(&b, 1024);
    cr_assert_eq(buf_adds(&b, "abc"), 0);
    cr_assert_eq(buf_addf(&b, "-%d-%s", 42, "x"), 0);
    cr_assert_str_eq(b.ptr, "abc-42-x");
    cr_assert_eq(b.len, 8);
    buf_release(&b);
}

Test(buf, refuses_to_grow_past_cap_and_keeps_contents)
{
    struct buf b;
    buf_init(&b, 5);
    cr_assert_eq(buf_adds(&b, "1234"), 0);
    cr_assert_eq(buf_adds(&b, "56"), KINO_ETOOBIG);
    cr_assert_eq(buf_addf(&b, "%s", "xy"), KINO_ETOOBIG);
    cr_assert_str_eq(b.ptr, "1234");
    cr_assert_eq(buf_adds(&b, "5"), 0);
    cr_assert_str_eq(b.ptr, "12345");
    buf_release(&b);
}

Test(buf, detach_hands_over_ownership)
{
    struct buf b;
    buf_init(&b, 100);
    buf_adds(&b, "hello");
    char *s = buf_detach(&b);
    cr_assert_str_eq(s, "hello");
    cr_assert_str_eq(b.ptr, "");
    free(s);
}
