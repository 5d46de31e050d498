/* Permissions and quotas as domains see them over the protocol. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct th t;
static void setup(void)
{
    th_init(&t);
}
static void teardown(void)
{
    th_fini(&t);
}
TestSuite(perms, .init = setup, .fini = teardown);
TestSuite(quota, .init = setup, .fini = teardown);

static int set_perms(struct xs_conn *c, const char *path, const char *const *p, int n)
{
    char buf[256];
    size_t len = (size_t)snprintf(buf, sizeof(buf), "%s", path) + 1;
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", p[i]) + 1;
    struct th_msg m;
    th_call(c, XS_SET_PERMS, 0, buf, len, &m);
    return th_errno(&m);
}

/* dom0 makes a domain's home the way a toolstack does. */
static void make_home(struct xs_conn *dom0, uint32_t domid)
{
    char path[64], owner[16];
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    snprintf(owner, sizeof(owner), "n%u", domid);
    cr_assert_eq(th_simple(dom0, XS_MKDIR, 0, path), 0);
    const char *p[] = {owner};
    cr_assert_eq(set_perms(dom0, path, p, 1), 0);
}

Test(perms, domain_cannot_read_dom0_nodes_until_granted)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    th_write(d0, 0, "/secret/key", "v");
    cr_assert_eq(th_read(g, 0, "/secret/key", NULL, 0), -EACCES);
    /* A missing node below an unreadable one must not reveal it is missing. */
    cr_assert_eq(th_read(g, 0, "/secret/nothing", NULL, 0), -EACCES);
    const char *p[] = {"n0", "r5"};
    cr_assert_eq(set_perms(d0, "/secret/key", p, 2), 0);
    char v[8];
    cr_assert_eq(th_read(g, 0, "/secret/key", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "v");
    cr_assert_eq(th_write(g, 0, "/secret/key", "w"), -EACCES);
    struct th_msg m;
    th_call(d0, XS_GET_PERMS, 0, "/secret/key", 12, &m);
    cr_assert_eq(m.h.len, 6);
    cr_assert_eq(memcmp(m.body, "n0\0r5", 6), 0);
}

Test(perms, nodes_inherit_parent_perms_and_domains_own_what_they_create)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    make_home(d0, 5);
    cr_assert_eq(th_write(g, 0, "data/x", "1"), 0); /* relative: /local/domain/5/data/x */
    struct th_msg m;
    th_call(d0, XS_GET_PERMS, 0, "/local/domain/5/data/x", 23, &m);
    cr_assert_str_eq(m.body, "n5");
    /* dom0's children of a shared node inherit the node's list. */
    const char *p[] = {"n0", "r5", "b6"};
    th_write(d0, 0, "/shared", "");
    set_perms(d0, "/shared", p, 3);
    th_write(d0, 0, "/shared/a/b", "x");
    th_call(d0, XS_GET_PERMS, 0, "/shared/a/b", 12, &m);
    cr_assert_eq(memcmp(m.body, "n0\0r5\0b6", 9), 0);
    /* Domain 6 may write there; what it creates is its own but keeps the rest of the list. */
    cr_assert_eq(th_write(th_conn(&t, 6), 0, "/shared/a/c", "y"), 0);
    th_call(d0, XS_GET_PERMS, 0, "/shared/a/c", 12, &m);
    cr_assert_eq(memcmp(m.body, "n6\0r5\0b6", 9), 0);
}

Test(perms, only_the_owner_sets_perms_and_cannot_give_the_node_away)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5), *h = th_conn(&t, 6);
    make_home(d0, 5);
    th_write(g, 0, "mine", "1");
    const char *share[] = {"n5", "r6"};
    cr_assert_eq(set_perms(g, "mine", share, 2), 0);
    cr_assert_eq(th_read(h, 0, "/local/domain/5/mine", NULL, 0), 0);
    const char *give[] = {"n6"};
    cr_assert_eq(set_perms(g, "mine", give, 1), -EPERM);
    cr_assert_eq(set_perms(h, "/local/domain/5/mine", share, 2), -EACCES);
    const char *bad[] = {"z5"};
    cr_assert_eq(set_perms(g, "mine", bad, 1), -EINVAL);
}

Test(perms, a_domain_with_a_target_acts_for_it)
{
    struct xs_conn *d0 = th_conn(&t, 0);
    make_home(d0, 5);
    struct th_msg m;
    th_call(d0, XS_INTRODUCE, 0,
            "5\0"
            "1\0"
            "1",
            6, &m);
    th_call(d0, XS_INTRODUCE, 0,
            "9\0"
            "2\0"
            "2",
            6, &m);
    struct xs_conn *dm = th_conn(&t, 9);
    cr_assert_eq(th_write(dm, 0, "/local/domain/5/x", "1"), -EACCES);
    cr_assert_eq(th_2args(d0, XS_SET_TARGET, 0, "9", "5"), 0);
    cr_assert_eq(th_write(dm, 0, "/local/domain/5/x", "1"), 0);
}

Test(perms, special_watch_nodes_have_permissions_too)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    struct th_msg m;
    th_call(d0, XS_GET_PERMS, 0, "@releaseDomain", 15, &m);
    cr_assert_str_eq(m.body, "n0");
    const char *p[] = {"n0", "r5"};
    cr_assert_eq(set_perms(g, "@releaseDomain", p, 2), -EACCES);
    cr_assert_eq(set_perms(d0, "@releaseDomain", p, 2), 0);
    cr_assert_eq(set_perms(d0, "@bogus", p, 2), -ENOENT);
}

Test(quota, entries_per_domain_are_limited_with_enospc)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    make_home(d0, 5);
    t.d.quota.entry_nb = 10; /* the home counts as one */
    char path[32];
    for (int i = 0; i < 9; i++) {
        snprintf(path, sizeof(path), "n%d", i);
        cr_assert_eq(th_write(g, 0, path, "x"), 0, "node %d", i);
    }
    cr_assert_eq(th_write(g, 0, "one-too-many", "x"), -ENOSPC);
    cr_assert_eq(th_simple(g, XS_RM, 0, "n0"), 0);
    cr_assert_eq(th_write(g, 0, "fits-again", "x"), 0);
    /* dom0 has no quota. */
    for (int i = 0; i < 20; i++) {
        snprintf(path, sizeof(path), "/d0/%d", i);
        cr_assert_eq(th_write(d0, 0, path, "x"), 0);
    }
}

Test(quota, default_limits_are_xens)
{
    cr_assert_eq(t.d.quota.entry_nb, 1000);
    cr_assert_eq(t.d.quota.entry_size, 2048);
    cr_assert_eq(t.d.quota.watch_nb, 128);
    cr_assert_eq(t.d.quota.transaction, 10);
    cr_assert_eq(t.d.quota.outstanding, 20);
    cr_assert_eq(t.d.quota.perm_nb, 5);
    cr_assert_eq(t.d.quota.trans_nodes, 1024);
}

Test(quota, oversized_values_and_long_perm_lists_from_domains_get_enospc)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    make_home(d0, 5);
    static char big[3000];
    memset(big, 'v', sizeof(big) - 1);
    cr_assert_eq(th_write(g, 0, "big", big), -ENOSPC);
    cr_assert_eq(th_write(d0, 0, "/local/domain/5/big", big), 0);
    th_write(g, 0, "p", "");
    const char *many[] = {"n5", "r1", "r2", "r3", "r4", "r6"};
    cr_assert_eq(set_perms(g, "p", many, 6), -ENOSPC);
    cr_assert_eq(set_perms(g, "p", many, 5), 0);
}

Test(quota, transactions_per_connection_are_limited)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    make_home(d0, 5);
    uint32_t tx;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(th_txn_start(g, &tx), 0);
    cr_assert_eq(th_txn_start(g, &tx), -ENOSPC);
    cr_assert_eq(th_txn_start(d0, &tx), 0);
}

Test(quota, watches_per_connection_are_limited_with_e2big)
{
    struct xs_conn *g = th_conn(&t, 5);
    char tok[16];
    for (int i = 0; i < 128; i++) {
        snprintf(tok, sizeof(tok), "t%d", i);
        cr_assert_eq(th_2args(g, XS_WATCH, 0, "data", tok), 0);
    }
    cr_assert_eq(th_2args(g, XS_WATCH, 0, "data", "last"), -E2BIG);
    cr_assert_eq(th_2args(g, XS_UNWATCH, 0, "data", "t0"), 0);
    cr_assert_eq(th_2args(g, XS_WATCH, 0, "data", "last"), 0);
}

Test(quota, outstanding_requests_stall_a_domain_until_it_reads)
{
    struct xs_conn *g = th_conn(&t, 5);
    t.d.quota.outstanding = 3;
    th_hold(g, true);
    for (uint32_t i = 0; i < 5; i++)
        th_send(g, XS_GET_DOMAIN_PATH, i, 0, "5", 2);
    /* Three replies queued, the other two requests wait unread. */
    cr_assert_eq(xs_conn_ctx(g, NULL).domid, 5);
    struct th_msg m;
    cr_assert_not(th_pop(g, &m));
    th_hold(g, false);
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert(th_pop(g, &m), "reply %u missing", i);
        cr_assert_eq(m.h.req_id, i);
    }
}

Test(quota, a_node_whose_children_list_outgrows_entry_size_takes_no_more_children)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    make_home(d0, 5);
    t.d.quota.entry_size = 200;
    char path[64];
    int r = 0, made = 0;
    for (int i = 0; i < 100 && r == 0; i++) {
        snprintf(path, sizeof(path), "dir/child-with-a-long-name-%03d", i);
        if ((r = th_write(g, 0, path, "")) == 0)
            made++;
    }
    cr_assert_eq(r, -ENOSPC);
    /* 200 bytes hold 7 names of 27 bytes with their NULs (189 + 5 for the one permission). */
    cr_assert_eq(made, 7);
    /* The same limit holds inside a transaction. */
    uint32_t tx;
    th_txn_start(g, &tx);
    cr_assert_eq(th_write(g, tx, "dir/child-with-a-long-name-xyz", ""), -ENOSPC);
}

Test(quota, the_copies_a_domains_transactions_hold_are_limited)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    make_home(d0, 5);
    static char big[2001];
    memset(big, 'x', 2000);
    char path[64];
    for (int i = 0; i < 20; i++) {
        snprintf(path, sizeof(path), "/local/domain/5/big%d", i);
        cr_assert_eq(th_write(d0, 0, path, big), 0);
    }
    t.d.quota.trans_memory = 16 * 1024;
    uint32_t tx;
    th_txn_start(g, &tx);
    int r = 0, read = 0;
    for (int i = 0; i < 20 && r == 0; i++) {
        snprintf(path, sizeof(path), "big%d", i);
        if ((r = th_read(g, tx, path, NULL, 0)) == 0)
            read++;
    }
    cr_assert_eq(r, -ENOSPC);
    cr_assert(read >= 6 && read <= 8, "read %d nodes of 2000 bytes within 16 KiB", read);
    /* Ending the transaction gives the budget back. */
    struct th_msg m;
    th_call(g, XS_TRANSACTION_END, tx, "F", 2, &m);
    cr_assert_eq(g->txn_bytes, 0);
    th_txn_start(g, &tx);
    cr_assert_eq(th_read(g, tx, "big0", NULL, 0), 0);
}
