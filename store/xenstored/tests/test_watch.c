/* Watches: registration event, subtree firing, removal, relative paths, special paths. */
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
TestSuite(watch, .init = setup, .fini = teardown);

#define EXPECT_EVENT(c, path, token)                                                               \
    do {                                                                                           \
        char p_[128], t_[64];                                                                      \
        cr_assert(th_event(c, p_, sizeof(p_), t_, sizeof(t_)), "no event for %s", path);           \
        cr_assert_str_eq(p_, path);                                                                \
        cr_assert_str_eq(t_, token);                                                               \
    } while (0)
#define EXPECT_NO_EVENT(c)                                                                         \
    do {                                                                                           \
        char p_[128], t_[64];                                                                      \
        cr_assert_not(th_event(c, p_, sizeof(p_), t_, sizeof(t_)), "unexpected %s", p_);           \
    } while (0)

Test(watch, fires_once_on_registration_after_the_ack)
{
    struct xs_conn *w = th_conn(&t, 0);
    th_send(w, XS_WATCH, 7, 0, "/a\0tok", 7);
    struct th_msg m;
    cr_assert(th_pop(w, &m));
    cr_assert_eq(m.h.type, XS_WATCH);
    cr_assert_eq(m.h.req_id, 7);
    cr_assert(th_pop(w, &m));
    cr_assert_eq(m.h.type, XS_WATCH_EVENT);
    cr_assert_eq(m.h.len, sizeof("/a\0tok"));
    cr_assert_eq(memcmp(m.body, "/a\0tok", sizeof("/a\0tok")), 0);
}

Test(watch, fires_for_the_node_and_everything_below_it_only)
{
    struct xs_conn *w = th_conn(&t, 0), *c = th_conn(&t, 0);
    th_2args(w, XS_WATCH, 0, "/a/b", "t");
    EXPECT_EVENT(w, "/a/b", "t");
    th_write(c, 0, "/a/b/c/d", "1");
    EXPECT_EVENT(w, "/a/b/c/d", "t");
    th_write(c, 0, "/a/b", "2");
    EXPECT_EVENT(w, "/a/b", "t");
    th_write(c, 0, "/a/bc", "3");
    th_write(c, 0, "/a", "4");
    EXPECT_NO_EVENT(w);
}

Test(watch, removing_an_ancestor_fires_watches_below_with_their_own_path)
{
    struct xs_conn *w = th_conn(&t, 0), *c = th_conn(&t, 0);
    th_write(c, 0, "/r/x/y", "1");
    th_2args(w, XS_WATCH, 0, "/r/x/y", "deep");
    EXPECT_EVENT(w, "/r/x/y", "deep");
    th_simple(c, XS_RM, 0, "/r");
    EXPECT_EVENT(w, "/r/x/y", "deep");
    EXPECT_NO_EVENT(w);
}

Test(watch, domain_watches_with_relative_paths_get_relative_events)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 3);
    th_simple(d0, XS_MKDIR, 0, "/local/domain/3");
    struct th_msg m;
    th_call(d0, XS_SET_PERMS, 0, "/local/domain/3\0b3", 19, &m);
    th_2args(g, XS_WATCH, 0, "device", "rel");
    EXPECT_EVENT(g, "device", "rel");
    th_2args(g, XS_WATCH, 0, "/local/domain/3/device", "abs");
    EXPECT_EVENT(g, "/local/domain/3/device", "abs");
    th_write(d0, 0, "/local/domain/3/device/vbd", "x");
    char p[128], tok[64], p2[128], tok2[64];
    cr_assert(th_event(g, p, sizeof(p), tok, sizeof(tok)));
    cr_assert(th_event(g, p2, sizeof(p2), tok2, sizeof(tok2)));
    if (strcmp(tok, "abs") == 0) {
        cr_assert_str_eq(p, "/local/domain/3/device/vbd");
        cr_assert_str_eq(p2, "device/vbd");
    } else {
        cr_assert_str_eq(p, "device/vbd");
        cr_assert_str_eq(p2, "/local/domain/3/device/vbd");
    }
}

Test(watch, domains_do_not_hear_about_nodes_they_cannot_read)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 3);
    th_2args(g, XS_WATCH, 0, "/private", "t");
    EXPECT_EVENT(g, "/private", "t");
    th_write(d0, 0, "/private/x", "secret");
    EXPECT_NO_EVENT(g);
}

Test(watch, duplicates_are_eexist_and_unknown_unwatch_is_enoent)
{
    struct xs_conn *w = th_conn(&t, 0);
    cr_assert_eq(th_2args(w, XS_WATCH, 0, "/a", "t"), 0);
    cr_assert_eq(th_2args(w, XS_WATCH, 0, "/a", "t"), -EEXIST);
    cr_assert_eq(th_2args(w, XS_WATCH, 0, "/a", "t2"), 0);
    cr_assert_eq(th_2args(w, XS_UNWATCH, 0, "/a", "nope"), -ENOENT);
    cr_assert_eq(th_2args(w, XS_UNWATCH, 0, "/a", "t"), 0);
    while (th_event(w, (char[64]){0}, 64, (char[64]){0}, 64))
        ;
    th_write(th_conn(&t, 0), 0, "/a", "x");
    EXPECT_EVENT(w, "/a", "t2");
    EXPECT_NO_EVENT(w);
}

Test(watch, reset_watches_removes_all_of_a_connections_watches)
{
    struct xs_conn *w = th_conn(&t, 0);
    th_2args(w, XS_WATCH, 0, "/a", "1");
    th_2args(w, XS_WATCH, 0, "/b", "2");
    EXPECT_EVENT(w, "/a", "1");
    EXPECT_EVENT(w, "/b", "2");
    struct th_msg m;
    th_call(w, XS_RESET_WATCHES, 0, "", 0, &m);
    cr_assert_str_eq(m.body, "OK");
    th_write(th_conn(&t, 0), 0, "/a", "x");
    EXPECT_NO_EVENT(w);
    cr_assert_eq(w->nwatches, 0);
}

Test(watch, introduce_and_release_fire_the_special_watches)
{
    struct xs_conn *d0 = th_conn(&t, 0), *w = th_conn(&t, 0);
    th_2args(w, XS_WATCH, 0, "@introduceDomain", "in");
    th_2args(w, XS_WATCH, 0, "@releaseDomain", "out");
    EXPECT_EVENT(w, "@introduceDomain", "in");
    EXPECT_EVENT(w, "@releaseDomain", "out");
    struct th_msg m;
    th_call(d0, XS_INTRODUCE, 0,
            "4\0"
            "10\0"
            "3",
            7, &m);
    EXPECT_EVENT(w, "@introduceDomain", "in");
    th_simple(d0, XS_RELEASE, 0, "4");
    EXPECT_EVENT(w, "@releaseDomain", "out");
    EXPECT_NO_EVENT(w);
}

Test(watch, a_closed_connection_leaves_no_watches_behind)
{
    struct xs_conn *w = th_conn(&t, 0);
    th_2args(w, XS_WATCH, 0, "/a", "1");
    xs_conn_free(w);
    th_write(th_conn(&t, 0), 0, "/a", "x"); /* must not touch the freed connection */
}

Test(watch, domains_hear_special_events_only_once_granted_read)
{
    struct xs_conn *d0 = th_conn(&t, 0), *g = th_conn(&t, 5);
    th_2args(g, XS_WATCH, 0, "@releaseDomain", "rel");
    EXPECT_EVENT(g, "@releaseDomain", "rel"); /* the registration event always comes */
    struct th_msg m;
    th_call(d0, XS_INTRODUCE, 0,
            "9\0"
            "1\0"
            "1",
            6, &m);
    th_simple(d0, XS_RELEASE, 0, "9");
    EXPECT_NO_EVENT(g);
    th_call(d0, XS_SET_PERMS, 0, "@releaseDomain\0n0\0r5", 21, &m);
    cr_assert_str_eq(m.body, "OK");
    th_call(d0, XS_INTRODUCE, 0,
            "9\0"
            "1\0"
            "1",
            6, &m);
    th_simple(d0, XS_RELEASE, 0, "9");
    EXPECT_EVENT(g, "@releaseDomain", "rel");
}
