/* Transactions against a model: random writes, mkdirs and removals inside a transaction must
 * look, from inside it and after commit, exactly like the same operations on a plain map. */
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
TestSuite(txn_model, .init = setup, .fini = teardown);

/* The path universe: /m, /m/{a,b,c}, /m/{a,b,c}/{x,y}, /m/{a,b,c}/{x,y}/z */
#define NP 16
static char paths[NP][16];
struct model {
    bool exists[NP];
    char value[NP][8];
};

static void make_paths(void)
{
    int n = 0;
    snprintf(paths[n++], 16, "/m");
    const char *l1 = "abc", *l2 = "xy";
    for (int i = 0; i < 3; i++) {
        snprintf(paths[n++], 16, "/m/%c", l1[i]);
        for (int j = 0; j < 2; j++) {
            snprintf(paths[n++], 16, "/m/%c/%c", l1[i], l2[j]);
            snprintf(paths[n++], 16, "/m/%c/%c/z", l1[i], l2[j]);
        }
    }
    cr_assert_eq(n, NP);
}

static bool below_or_eq(int child, int anc)
{
    return xs_path_is_child(paths[child], paths[anc]);
}

static void model_create(struct model *m, int p)
{
    for (int i = 0; i < NP; i++)
        if (!m->exists[i] && below_or_eq(p, i)) {
            m->exists[i] = true;
            m->value[i][0] = '\0';
        }
}

static void check_view(struct xs_conn *c, uint32_t tx, const struct model *m, const char *when)
{
    for (int i = 0; i < NP; i++) {
        char v[16];
        int r = th_read(c, tx, paths[i], v, sizeof(v));
        cr_assert_eq(r, m->exists[i] ? 0 : -ENOENT, "%s: %s exists=%d r=%d", when, paths[i],
                     m->exists[i], r);
        if (m->exists[i])
            cr_assert_str_eq(v, m->value[i], "%s: value of %s", when, paths[i]);
        if (!m->exists[i])
            continue;
        /* The listing: exactly the existing direct children. */
        struct th_msg msg;
        th_call(c, XS_DIRECTORY, tx, paths[i], strlen(paths[i]) + 1, &msg);
        cr_assert_eq(msg.h.type, XS_DIRECTORY);
        int listed = 0;
        for (size_t off = 0; off < msg.h.len; off += strlen(msg.body + off) + 1) {
            char full[32];
            snprintf(full, sizeof(full), "%s/%s", paths[i], msg.body + off);
            int k = 0;
            while (k < NP && strcmp(paths[k], full) != 0)
                k++;
            cr_assert(k < NP && m->exists[k], "%s: %s lists %s", when, paths[i], full);
            listed++;
        }
        int want = 0;
        for (int k = 0; k < NP; k++)
            if (m->exists[k] && strrchr(paths[k], '/') - paths[k] == (long)strlen(paths[i]) &&
                below_or_eq(k, i) && k != i)
                want++;
        cr_assert_eq(listed, want, "%s: %s has %d children, model %d", when, paths[i], listed,
                     want);
    }
}

static void run(unsigned seed)
{
    make_paths();
    srand(seed);
    struct xs_conn *c = th_conn(&t, 0);
    struct model m = {0};
    /* A random starting tree, outside any transaction. */
    for (int i = 0; i < 8; i++) {
        int p = rand() % NP;
        char v[8];
        snprintf(v, sizeof(v), "s%d", i & 7);
        cr_assert_eq(th_write(c, 0, paths[p], v), 0);
        model_create(&m, p);
        strcpy(m.value[p], v);
    }
    uint32_t tx;
    cr_assert_eq(th_txn_start(c, &tx), 0);
    for (int op = 0; op < 40; op++) {
        int p = rand() % NP, kind = rand() % 3;
        char v[8];
        if (kind == 0) {
            snprintf(v, sizeof(v), "t%d", op & 63);
            cr_assert_eq(th_write(c, tx, paths[p], v), 0);
            model_create(&m, p);
            strcpy(m.value[p], v);
        } else if (kind == 1) {
            cr_assert_eq(th_simple(c, XS_MKDIR, tx, paths[p]), 0);
            model_create(&m, p);
        } else {
            int r = th_simple(c, XS_RM, tx, paths[p]);
            int parent_ok = p == 0 ? 1 : 0;
            for (int k = 0; k < NP; k++)
                if (m.exists[k] && k != p && below_or_eq(p, k) &&
                    strrchr(paths[p], '/') - paths[p] == (long)strlen(paths[k]))
                    parent_ok = 1;
            if (p == 0)
                parent_ok = 1; /* "/" always exists */
            cr_assert_eq(r, m.exists[p] || parent_ok ? 0 : -ENOENT, "rm %s", paths[p]);
            for (int k = 0; k < NP; k++)
                if (below_or_eq(k, p))
                    m.exists[k] = false;
        }
        check_view(c, tx, &m, "in transaction");
    }
    struct th_msg msg;
    th_call(c, XS_TRANSACTION_END, tx, "T", 2, &msg);
    cr_assert_str_eq(msg.body, "OK");
    check_view(c, 0, &m, "after commit");
    char why[256];
    cr_assert_eq(xs_daemon_check(&t.d, why, sizeof(why)), 0, "%s", why);
}

Test(txn_model, random_operations_match_the_model_seed_1)
{
    run(1);
}
Test(txn_model, random_operations_match_the_model_seed_2)
{
    run(2);
}
Test(txn_model, random_operations_match_the_model_seed_3)
{
    run(3);
}
Test(txn_model, random_operations_match_the_model_seed_4)
{
    run(4);
}
Test(txn_model, random_operations_match_the_model_seed_5)
{
    run(5);
}
Test(txn_model, random_operations_match_the_model_seed_6)
{
    run(6);
}
