/* The learning switch on its own: learning, flooding, no frame back to its source, aging,
 * a moved MAC, port removal, and a table that stays bounded under a flood of source MACs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../net/switch.h"

#define SEC 1000000000ull

struct rx {
    unsigned int frames;
    size_t last_len;
    unsigned int last_flags;
};
static struct rx got[8];

static void deliver(void *ctx, const uint8_t *frame, size_t len, unsigned int flags)
{
    (void)frame;
    struct rx *r = ctx;
    r->frames++;
    r->last_len = len;
    r->last_flags = flags;
}

static struct net_switch *sw;
static int port[4];

static void setup(void)
{
    memset(got, 0, sizeof(got));
    sw = net_switch_new(4, 10 * SEC);
    cr_assert_not_null(sw);
    for (int i = 0; i < 4; i++)
        port[i] = net_switch_add_port(sw, deliver, &got[i]);
    cr_assert_eq(net_switch_add_port(sw, deliver, &got[5]), -ENOSPC);
}

static void teardown(void)
{
    net_switch_free(sw);
}

static void frame(uint8_t *f, unsigned int dst, unsigned int src)
{
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    if (dst != 0xff)
        memcpy(f, (uint8_t[]){2, 0, 0, 0, 0, (uint8_t)dst}, 6);
    memcpy(f + 6, (uint8_t[]){2, 0, 0, 0, 0, (uint8_t)src}, 6);
}

TestSuite(net_switch, .init = setup, .fini = teardown);

Test(net_switch, unknown_and_broadcast_flood_to_every_port_but_the_source)
{
    uint8_t f[60] = {0};
    frame(f, 0xff, 1);
    cr_assert_eq(net_switch_input(sw, port[0], f, 60, NET_FRAME_CSUM_BLANK, 0), 3);
    cr_assert_eq(got[0].frames, 0);
    cr_assert_eq(got[1].frames + got[2].frames + got[3].frames, 3);
    cr_assert_eq(got[1].last_flags, NET_FRAME_CSUM_BLANK, "metadata crosses the switch");
    frame(f, 9, 1); /* never seen */
    cr_assert_eq(net_switch_input(sw, port[0], f, 60, 0, 0), 3);
}

Test(net_switch, a_learnt_destination_gets_the_frame_alone)
{
    uint8_t f[60] = {0};
    frame(f, 0xff, 2);
    net_switch_input(sw, port[1], f, 60, 0, 0);
    cr_assert_eq(net_switch_lookup(sw, (uint8_t[]){2, 0, 0, 0, 0, 2}, 0), port[1]);
    memset(got, 0, sizeof(got));
    frame(f, 2, 1);
    cr_assert_eq(net_switch_input(sw, port[0], f, 60, 0, 1), 1);
    cr_assert_eq(got[1].frames, 1);
    cr_assert_eq(got[2].frames + got[3].frames, 0);
}

Test(net_switch, a_frame_for_a_mac_behind_its_own_port_is_not_returned)
{
    uint8_t f[60] = {0};
    frame(f, 0xff, 2);
    net_switch_input(sw, port[1], f, 60, 0, 0);
    memset(got, 0, sizeof(got));
    frame(f, 2, 3);
    cr_assert_eq(net_switch_input(sw, port[1], f, 60, 0, 0), 0);
    cr_assert_eq(got[1].frames, 0);
}

Test(net_switch, entries_age_out_and_moved_macs_are_relearnt)
{
    uint8_t f[60] = {0};
    const uint8_t m2[6] = {2, 0, 0, 0, 0, 2};
    frame(f, 0xff, 2);
    net_switch_input(sw, port[1], f, 60, 0, 0);
    cr_assert_eq(net_switch_lookup(sw, m2, 9 * SEC), port[1]);
    cr_assert_eq(net_switch_lookup(sw, m2, 11 * SEC), -ENOENT, "not aged out");
    net_switch_input(sw, port[2], f, 60, 0, 12 * SEC);
    cr_assert_eq(net_switch_lookup(sw, m2, 12 * SEC), port[2]);
}

Test(net_switch, a_removed_port_takes_its_macs_and_gets_nothing)
{
    uint8_t f[60] = {0};
    frame(f, 0xff, 2);
    net_switch_input(sw, port[1], f, 60, 0, 0);
    net_switch_del_port(sw, port[1]);
    cr_assert_eq(net_switch_lookup(sw, (uint8_t[]){2, 0, 0, 0, 0, 2}, 0), -ENOENT);
    memset(got, 0, sizeof(got));
    frame(f, 2, 1);
    cr_assert_eq(net_switch_input(sw, port[0], f, 60, 0, 0), 2);
    cr_assert_eq(got[1].frames, 0);
    cr_assert_eq(net_switch_nr_ports(sw), 3);
}

Test(net_switch, short_frames_and_group_sources_are_not_learnt)
{
    uint8_t f[60] = {0};
    cr_assert_eq(net_switch_input(sw, port[0], f, 13, 0, 0), 0);
    frame(f, 0xff, 1);
    f[6] = 1; /* multicast source */
    net_switch_input(sw, port[0], f, 60, 0, 0);
    cr_assert_eq(net_switch_lookup(sw, f + 6, 0), -ENOENT);
    cr_assert_eq(net_switch_input(sw, 17, f, 60, 0, 0), 0, "no such port");
}

Test(net_switch, a_flood_of_source_macs_keeps_the_table_bounded_and_fresh)
{
    uint8_t f[60] = {0};
    frame(f, 0xff, 1);
    for (uint32_t i = 0; i < 20000; i++) {
        memcpy(f + 8, &i, 4);
        net_switch_input(sw, port[0], f, 60, 0, i);
    }
    /* The latest source is always found. */
    uint32_t last = 19999;
    memcpy(f + 8, &last, 4);
    cr_assert_eq(net_switch_lookup(sw, f + 6, 20000), port[0]);
}
