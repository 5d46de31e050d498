/* The node tree and path/permission helpers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const struct xs_perm dom0_only = {0, XS_PERM_NONE};

Test(tree, lookup_finds_created_nodes_and_not_others)
{
    struct xs_tree t;
    cr_assert_eq(xs_tree_init(&t), 0);
    cr_assert_eq(xs_tree_create(&t, "/a", &dom0_only, 1, NULL), 0);
    cr_assert_eq(xs_tree_create(&t, "/a/b", &dom0_only, 1, NULL), 0);
    cr_assert_eq(xs_tree_create(&t, "/a/b", &dom0_only, 1, NULL), -EEXIST);
    cr_assert_eq(xs_tree_create(&t, "/x/y", &dom0_only, 1, NULL), -ENOENT);
    cr_assert_not_null(xs_tree_lookup(&t, "/a/b"));
    cr_assert_null(xs_tree_lookup(&t, "/a/c"));
    cr_assert_null(xs_tree_lookup(&t, "/a/bb"));
    char path[64];
    cr_assert_eq(xs_tree_path(xs_tree_lookup(&t, "/a/b"), path, sizeof(path)), 0);
    cr_assert_str_eq(path, "/a/b");
    xs_tree_free(&t);
}

Test(tree, directory_lists_children_in_creation_order)
{
    struct xs_tree t;
    xs_tree_init(&t);
    xs_tree_create(&t, "/d", &dom0_only, 1, NULL);
    const char *names[] = {"zeta", "alpha", "mid"};
    char path[32];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "/d/%s", names[i]);
        xs_tree_create(&t, path, &dom0_only, 1, NULL);
    }
    const char *buf;
    size_t len;
    cr_assert_eq(xs_tree_dir(xs_tree_lookup(&t, "/d"), &buf, &len), 0);
    cr_assert_eq(len, sizeof("zeta\0alpha\0mid"));
    cr_assert_eq(memcmp(buf, "zeta\0alpha\0mid", len), 0);
    xs_tree_remove(&t, xs_tree_lookup(&t, "/d/alpha"));
    cr_assert_eq(xs_tree_dir(xs_tree_lookup(&t, "/d"), &buf, &len), 0);
    cr_assert_eq(memcmp(buf, "zeta\0mid", len), 0);
    xs_tree_free(&t);
}

static int accounted[8];
static void count(void *opaque, uint32_t domid, int delta)
{
    (void)opaque;
    accounted[domid & 7] += delta;
}

Test(tree, removing_a_20k_child_directory_frees_and_unaccounts_every_node)
{
    struct xs_tree t;
    xs_tree_init(&t);
    t.account = count;
    struct xs_perm p = {3, XS_PERM_NONE};
    xs_tree_create(&t, "/big", &p, 1, NULL);
    char path[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(path, sizeof(path), "/big/%d", i);
        cr_assert_eq(xs_tree_create(&t, path, &p, 1, NULL), 0);
    }
    cr_assert_eq(accounted[3], 20001);
    cr_assert_eq(xs_tree_lookup(&t, "/big")->nchildren, 20000);
    cr_assert_not_null(xs_tree_lookup(&t, "/big/19999"));
    xs_tree_remove(&t, xs_tree_lookup(&t, "/big"));
    cr_assert_eq(accounted[3], 0);
    cr_assert_null(xs_tree_lookup(&t, "/big"));
    cr_assert_eq(t.nnodes, 0);
    xs_tree_free(&t);
}

Test(tree, deep_trees_are_freed_without_recursion)
{
    struct xs_tree t;
    xs_tree_init(&t);
    char path[XENSTORE_ABS_PATH_MAX];
    size_t len = 0;
    for (int i = 0; i < 1000; i++) {
        len += (size_t)snprintf(path + len, sizeof(path) - len, "/n");
        cr_assert_eq(xs_tree_create(&t, path, &dom0_only, 1, NULL), 0);
    }
    xs_tree_free(&t);
}

Test(tree, changing_a_child_bumps_the_parent_generation)
{
    struct xs_tree t;
    xs_tree_init(&t);
    xs_tree_create(&t, "/p", &dom0_only, 1, NULL);
    uint64_t g = xs_tree_lookup(&t, "/p")->gen;
    xs_tree_create(&t, "/p/c", &dom0_only, 1, NULL);
    cr_assert_gt(xs_tree_lookup(&t, "/p")->gen, g);
    xs_tree_free(&t);
}

Test(path, canonical_paths_are_checked_and_relative_ones_rooted_at_home)
{
    char buf[XENSTORE_ABS_PATH_MAX + 2];
    cr_assert_eq(xs_path_canonical(5, true, 2048, "device/vbd", false, buf, sizeof(buf)), 0);
    cr_assert_str_eq(buf, "/local/domain/5/device/vbd");
    cr_assert_eq(xs_path_canonical(0, false, 2048, "/", false, buf, sizeof(buf)), 0);
    const char *bad[] = {"", "/a/", "/a//b", "/a b", "/a\x01", "@introduceDomain", "/a/é"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(xs_path_canonical(0, false, 2048, bad[i], false, buf, sizeof(buf)), -EINVAL,
                     "accepted '%s'", bad[i]);
    cr_assert_eq(xs_path_canonical(0, false, 2048, "@releaseDomain", true, buf, sizeof(buf)), 0);
    char longp[XENSTORE_ABS_PATH_MAX + 10];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    cr_assert_eq(xs_path_canonical(0, false, 2048, longp, false, buf, sizeof(buf)), -EINVAL);
    /* The path-max quota limits unprivileged domains below their home only. */
    cr_assert_eq(xs_path_canonical(5, true, 10, "0123456789", false, buf, sizeof(buf)), 0);
    cr_assert_eq(xs_path_canonical(5, true, 10, "0123456789a", false, buf, sizeof(buf)), -EINVAL);
}

Test(perms, permission_strings_parse_or_are_refused)
{
    struct xs_perm p;
    cr_assert_eq(xs_perm_parse("b7", &p), 0);
    cr_assert_eq(p.domid, 7);
    cr_assert_eq(p.perm, XS_PERM_READ | XS_PERM_WRITE);
    cr_assert_eq(xs_perm_parse("r0", &p), 0);
    cr_assert_eq(p.perm, XS_PERM_READ);
    const char *bad[] = {"", "x1", "r", "r-1", "r1a", "w99999999999", "b32752", "n 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(xs_perm_parse(bad[i], &p), -EINVAL, "accepted '%s'", bad[i]);
}

Test(perms, owner_gets_all_listed_domains_their_entry_others_the_default)
{
    struct xs_perm p[] = {{4, XS_PERM_READ}, {6, XS_PERM_NONE}, {7, XS_PERM_WRITE}};
    unsigned all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
    cr_assert_eq(xs_perm_for(4, XS_NO_TARGET, p, 3, all), all);
    cr_assert_eq(xs_perm_for(6, XS_NO_TARGET, p, 3, all), 0);
    cr_assert_eq(xs_perm_for(7, XS_NO_TARGET, p, 3, all), XS_PERM_WRITE);
    cr_assert_eq(xs_perm_for(9, XS_NO_TARGET, p, 3, all), XS_PERM_READ);
    /* A domain acting for its target (a device model) gets the target's rights. */
    cr_assert_eq(xs_perm_for(9, 4, p, 3, all), all);
}
