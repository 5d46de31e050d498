/* Transactions: isolation, conflicts, and their view of the tree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
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
TestSuite(txn, .init = setup, .fini = teardown);

static int end(struct xs_conn *c, uint32_t tx, bool commit)
{
    struct th_msg m;
    th_call(c, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2, &m);
    return th_errno(&m);
}

Test(txn, writes_are_invisible_outside_until_commit)
{
    struct xs_conn *a = th_conn(&t, 0), *b = th_conn(&t, 0);
    uint32_t tx;
    cr_assert_eq(th_txn_start(a, &tx), 0);
    cr_assert_neq(tx, 0);
    cr_assert_eq(th_write(a, tx, "/t/x", "1"), 0);
    char v[8];
    cr_assert_eq(th_read(a, tx, "/t/x", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "1");
    cr_assert_eq(th_read(b, 0, "/t/x", NULL, 0), -ENOENT);
    cr_assert_eq(th_read(a, 0, "/t/x", NULL, 0), -ENOENT);
    cr_assert_eq(end(a, tx, true), 0);
    cr_assert_eq(th_read(b, 0, "/t/x", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "1");
}

Test(txn, abort_discards_everything)
{
    struct xs_conn *a = th_conn(&t, 0);
    th_write(a, 0, "/keep", "k");
    uint32_t tx;
    th_txn_start(a, &tx);
    th_write(a, tx, "/gone/x", "1");
    th_simple(a, XS_RM, tx, "/keep");
    cr_assert_eq(end(a, tx, false), 0);
    cr_assert_eq(th_read(a, 0, "/gone/x", NULL, 0), -ENOENT);
    cr_assert_eq(th_read(a, 0, "/keep", NULL, 0), 0);
}

Test(txn, conflict_on_a_read_node_returns_eagain)
{
    struct xs_conn *a = th_conn(&t, 0), *b = th_conn(&t, 0);
    th_write(a, 0, "/c", "0");
    uint32_t tx;
    th_txn_start(a, &tx);
    char v[8];
    th_read(a, tx, "/c", v, sizeof(v));
    th_write(a, tx, "/c", "1");
    th_write(b, 0, "/c", "2");
    cr_assert_eq(end(a, tx, true), -EAGAIN);
    th_read(b, 0, "/c", v, sizeof(v));
    cr_assert_str_eq(v, "2");
}

Test(txn, reading_a_missing_node_conflicts_with_its_creation)
{
    struct xs_conn *a = th_conn(&t, 0), *b = th_conn(&t, 0);
    uint32_t tx;
    th_txn_start(a, &tx);
    cr_assert_eq(th_read(a, tx, "/lock", NULL, 0), -ENOENT);
    th_write(a, tx, "/lock", "a");
    th_write(b, 0, "/lock", "b");
    cr_assert_eq(end(a, tx, true), -EAGAIN);
}

Test(txn, unrelated_changes_do_not_conflict)
{
    struct xs_conn *a = th_conn(&t, 0), *b = th_conn(&t, 0);
    th_write(a, 0, "/x/one", "1");
    th_write(a, 0, "/y/two", "2");
    uint32_t tx;
    th_txn_start(a, &tx);
    th_write(a, tx, "/x/one", "10");
    th_write(b, 0, "/y/two", "20");
    cr_assert_eq(end(a, tx, true), 0);
    char v[8];
    th_read(b, 0, "/x/one", v, sizeof(v));
    cr_assert_str_eq(v, "10");
}

Test(txn, snapshot_doomed_when_a_node_changed_after_start_is_read)
{
    struct xs_conn *a = th_conn(&t, 0), *b = th_conn(&t, 0);
    th_write(a, 0, "/s", "old");
    uint32_t tx;
    th_txn_start(a, &tx);
    th_write(b, 0, "/s", "new");
    char v[8];
    th_read(a, tx, "/s", v, sizeof(v));
    cr_assert_eq(end(a, tx, true), -EAGAIN);
}

Test(txn, directory_in_a_transaction_shows_its_own_creates_and_removals)
{
    struct xs_conn *a = th_conn(&t, 0);
    th_write(a, 0, "/d/a", "");
    th_write(a, 0, "/d/b", "");
    uint32_t tx;
    th_txn_start(a, &tx);
    th_simple(a, XS_RM, tx, "/d/a");
    th_write(a, tx, "/d/c", "");
    struct th_msg m;
    th_call(a, XS_DIRECTORY, tx, "/d", 3, &m);
    cr_assert_eq(m.h.len, 4);
    cr_assert_eq(memcmp(m.body, "b\0c", 4), 0);
    th_call(a, XS_DIRECTORY, 0, "/d", 3, &m);
    cr_assert_eq(memcmp(m.body, "a\0b", 4), 0);
    cr_assert_eq(end(a, tx, true), 0);
    th_call(a, XS_DIRECTORY, 0, "/d", 3, &m);
    cr_assert_eq(memcmp(m.body, "b\0c", 4), 0);
}

Test(txn, removing_and_recreating_a_subtree_drops_its_old_children)
{
    struct xs_conn *a = th_conn(&t, 0);
    th_write(a, 0, "/r/old/deep", "1");
    uint32_t tx;
    th_txn_start(a, &tx);
    cr_assert_eq(th_simple(a, XS_RM, tx, "/r"), 0);
    cr_assert_eq(th_read(a, tx, "/r/old/deep", NULL, 0), -ENOENT);
    cr_assert_eq(th_write(a, tx, "/r/new", "2"), 0);
    cr_assert_eq(th_read(a, tx, "/r/old", NULL, 0), -ENOENT);
    cr_assert_eq(end(a, tx, true), 0);
    cr_assert_eq(th_read(a, 0, "/r/old", NULL, 0), -ENOENT);
    char v[8];
    cr_assert_eq(th_read(a, 0, "/r/new", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "2");
}

Test(txn, unknown_ids_and_nested_starts_are_refused)
{
    struct xs_conn *a = th_conn(&t, 0);
    cr_assert_eq(th_read(a, 4242, "/local", NULL, 0), -ENOENT);
    cr_assert_eq(end(a, 4242, true), -ENOENT);
    uint32_t tx, tx2;
    th_txn_start(a, &tx);
    struct th_msg m;
    th_call(a, XS_TRANSACTION_START, tx, "", 1, &m);
    cr_assert_str_eq(m.body, "EBUSY");
    th_call(a, XS_TRANSACTION_END, tx, "X", 2, &m);
    cr_assert_str_eq(m.body, "EINVAL");
    cr_assert_eq(th_txn_start(a, &tx2), 0);
    cr_assert_neq(tx, tx2);
    /* A transaction belongs to its connection. */
    cr_assert_eq(th_read(th_conn(&t, 0), tx, "/local", NULL, 0), -ENOENT);
}

Test(txn, watches_fire_at_commit_not_before)
{
    struct xs_conn *a = th_conn(&t, 0), *w = th_conn(&t, 0);
    char p[64], tok[16];
    th_2args(w, XS_WATCH, 0, "/wt", "tk");
    cr_assert(th_event(w, p, sizeof(p), tok, sizeof(tok))); /* the registration event */
    uint32_t tx;
    th_txn_start(a, &tx);
    th_write(a, tx, "/wt/x", "1");
    cr_assert_not(th_event(w, p, sizeof(p), tok, sizeof(tok)));
    end(a, tx, true);
    cr_assert(th_event(w, p, sizeof(p), tok, sizeof(tok)));
    cr_assert_str_eq(tok, "tk");
}

Test(txn, touching_too_many_nodes_in_a_domain_transaction_is_enospc)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    th_simple(d0, XS_MKDIR, 0, "/local/domain/5");
    struct th_msg m;
    th_call(d0, XS_SET_PERMS, 0, "/local/domain/5\0n5", 19, &m);
    t.d.quota.trans_nodes = 8;
    uint32_t tx;
    th_txn_start(g, &tx);
    char path[32];
    int r = 0;
    for (int i = 0; i < 20 && r == 0; i++) {
        snprintf(path, sizeof(path), "n%d", i);
        r = th_write(g, tx, path, "x");
    }
    cr_assert_eq(r, -ENOSPC);
}

Test(txn, commit_keeps_the_creation_order_of_new_children)
{
    struct xs_conn *a = th_conn(&t, 0);
    uint32_t tx;
    th_txn_start(a, &tx);
    const char *names[] = {"/o/zz", "/o/name", "/o/mem", "/o/a", "/o/q1", "/o/b"};
    for (int i = 0; i < 6; i++)
        th_write(a, tx, names[i], "v");
    cr_assert_eq(end(a, tx, true), 0);
    struct th_msg m;
    th_call(a, XS_DIRECTORY, 0, "/o", 3, &m);
    const char want[] = "zz\0name\0mem\0a\0q1\0b";
    cr_assert_eq(m.h.len, sizeof(want));
    cr_assert_eq(memcmp(m.body, want, sizeof(want)), 0);
}

/* Four connections increment one counter through transactions, their steps interleaved at
 * random; conflicts are retried. Isolation means no increment is ever lost. */
Test(txn, interleaved_counter_increments_never_lose_an_update)
{
    enum { NC = 4, PER_CONN = 25 };
    struct xs_conn *c[NC];
    uint32_t tx[NC] = {0};
    int step[NC] = {0}, done[NC] = {0}, value[NC] = {0}, eagain = 0;
    for (int i = 0; i < NC; i++)
        c[i] = th_conn(&t, 0);
    th_write(c[0], 0, "/counter", "0");
    srand(42);
    int remaining = NC;
    while (remaining) {
        int i = rand() % NC;
        if (done[i] == PER_CONN)
            continue;
        char v[16];
        switch (step[i]) {
        case 0:
            cr_assert_eq(th_txn_start(c[i], &tx[i]), 0);
            break;
        case 1:
            cr_assert_eq(th_read(c[i], tx[i], "/counter", v, sizeof(v)), 0);
            value[i] = atoi(v);
            break;
        case 2:
            snprintf(v, sizeof(v), "%d", value[i] + 1);
            cr_assert_eq(th_write(c[i], tx[i], "/counter", v), 0);
            break;
        case 3: {
            int r = end(c[i], tx[i], true);
            cr_assert(r == 0 || r == -EAGAIN);
            if (r == -EAGAIN)
                eagain++;
            else if (++done[i] == PER_CONN)
                remaining--;
            break;
        }
        }
        step[i] = (step[i] + 1) % 4;
    }
    char v[16];
    th_read(c[0], 0, "/counter", v, sizeof(v));
    cr_assert_eq(atoi(v), NC * PER_CONN);
    cr_assert_gt(eagain, 0, "the interleaving should have produced conflicts");
}

Test(txn, keeps_reading_its_snapshot_after_another_connection_changes_things)
{
    struct xs_conn *a = th_conn(&t, 0), *b = th_conn(&t, 0);
    th_write(a, 0, "/snap/v", "old");
    uint32_t tx;
    th_txn_start(a, &tx);
    char v[8];
    th_read(a, tx, "/snap/v", v, sizeof(v));
    cr_assert_eq(th_read(a, tx, "/snap/missing", NULL, 0), -ENOENT);
    struct th_msg m;
    th_call(a, XS_DIRECTORY, tx, "/snap", 6, &m);
    cr_assert_eq(m.h.len, 2);
    th_write(b, 0, "/snap/v", "new");
    th_write(b, 0, "/snap/missing", "here");
    /* Same answers as before the other connection's writes. */
    cr_assert_eq(th_read(a, tx, "/snap/v", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "old");
    cr_assert_eq(th_read(a, tx, "/snap/missing", NULL, 0), -ENOENT);
    th_call(a, XS_DIRECTORY, tx, "/snap", 6, &m);
    cr_assert_eq(m.h.len, 2);
    cr_assert_str_eq(m.body, "v");
    cr_assert_eq(end(a, tx, true), -EAGAIN);
}
