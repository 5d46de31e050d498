/* xenconsoled's ring logic against an in-process console page, including a hostile guest. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "kxen/io/console.h"

#include "../xenconsoled/cons_ring.h"

/* Guest side of the out ring, as the guest runtime writes it. */
static void guest_write(struct xencons_interface *c, const char *s)
{
    for (; *s; s++)
        c->out[MASK_XENCONS_IDX(c->out_prod++, c->out)] = *s;
}

Test(cons_ring, drains_guest_output_across_the_wrap)
{
    static struct xencons_interface c;
    char buf[4096];
    memset(&c, 0, sizeof(c));
    c.out_cons = c.out_prod = 0xfffffff0u; /* free-running indices about to wrap */
    guest_write(&c, "hello from the guest\n");
    ssize_t n = cons_ring_read_out(&c, buf, sizeof(buf));
    cr_assert_eq(n, 21);
    cr_assert_eq(memcmp(buf, "hello from the guest\n", 21), 0);
    cr_assert_eq(c.out_cons, c.out_prod);
    cr_assert_eq(cons_ring_read_out(&c, buf, sizeof(buf)), 0, "nothing new");
}

Test(cons_ring, partial_reads_leave_the_rest)
{
    static struct xencons_interface c;
    char buf[8];
    memset(&c, 0, sizeof(c));
    guest_write(&c, "abcdefghij");
    cr_assert_eq(cons_ring_read_out(&c, buf, 4), 4);
    cr_assert_eq(memcmp(buf, "abcd", 4), 0);
    cr_assert_eq(cons_ring_read_out(&c, buf, 8), 6);
    cr_assert_eq(memcmp(buf, "efghij", 6), 0);
}

Test(cons_ring, producer_overrun_is_refused)
{
    static struct xencons_interface c;
    char buf[64];
    memset(&c, 0, sizeof(c));
    c.out_prod = sizeof(c.out) + 1;
    cr_assert_eq(cons_ring_read_out(&c, buf, sizeof(buf)), -EPROTO);
    cr_assert_eq(c.out_cons, 0, "no byte consumed from a broken ring");
    c.out_prod = 0;
    c.in_cons = 5; /* consumer ahead of producer: wraps to a huge distance */
    cr_assert_eq(cons_ring_write_in(&c, "x", 1), -EPROTO);
}

Test(cons_ring, input_stops_when_the_ring_is_full)
{
    static struct xencons_interface c;
    static char big[2000];
    memset(&c, 0, sizeof(c));
    memset(big, 'k', sizeof(big));
    cr_assert_eq(cons_ring_write_in(&c, big, sizeof(big)), (ssize_t)sizeof(c.in));
    cr_assert_eq(cons_ring_write_in(&c, "x", 1), 0);
    c.in_cons += 10; /* the guest read ten bytes */
    cr_assert_eq(cons_ring_write_in(&c, big, sizeof(big)), 10);
    cr_assert_eq(c.in_prod - c.in_cons, sizeof(c.in));
}

Test(cons_history, keeps_the_newest_bytes_in_order)
{
    struct cons_history h;
    char out[8];
    cr_assert_eq(cons_history_init(&h, 8), 0);
    cons_history_add(&h, "abc", 3);
    cr_assert_eq(cons_history_copy(&h, out), 3);
    cr_assert_eq(memcmp(out, "abc", 3), 0);
    cons_history_add(&h, "defghij", 7);
    cr_assert_eq(cons_history_copy(&h, out), 8);
    cr_assert_eq(memcmp(out, "cdefghij", 8), 0);
    cons_history_add(&h, "0123456789", 10);
    cr_assert_eq(cons_history_copy(&h, out), 8);
    cr_assert_eq(memcmp(out, "23456789", 8), 0);
    cons_history_free(&h);
}
