/* The wire protocol through the real connection layer: framing, req_id, errors, domains. */
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
TestSuite(proto, .init = setup, .fini = teardown);

Test(proto, write_then_read_returns_the_value_without_terminator)
{
    struct xs_conn *c = th_conn(&t, 0);
    cr_assert_eq(th_write(c, 0, "/a/b/c", "hello"), 0);
    struct th_msg m;
    th_call(c, XS_READ, 0, "/a/b/c", 7, &m);
    cr_assert_eq(m.h.type, XS_READ);
    cr_assert_eq(m.h.len, 5);
    cr_assert_str_eq(m.body, "hello");
    /* Parents were created implicitly, empty. */
    th_call(c, XS_READ, 0, "/a/b", 5, &m);
    cr_assert_eq(m.h.type, XS_READ);
    cr_assert_eq(m.h.len, 0);
}

Test(proto, pipelined_requests_get_replies_in_order_with_their_req_id)
{
    struct xs_conn *c = th_conn(&t, 0);
    char buf[1024];
    size_t len = 0;
    for (uint32_t i = 0; i < 10; i++) {
        char body[32];
        int bl = snprintf(body, sizeof(body), "/p/%u", i) + 1;
        bl += snprintf(body + bl, sizeof(body) - (size_t)bl, "v%u", i);
        struct xsd_sockmsg h = {XS_WRITE, 1000 + i, 0, (uint32_t)bl};
        memcpy(buf + len, &h, sizeof(h));
        memcpy(buf + len + sizeof(h), body, (size_t)bl);
        len += sizeof(h) + (size_t)bl;
    }
    /* Delivered in awkward pieces: framing must not depend on read boundaries. */
    for (size_t off = 0; off < len; off += 7)
        th_feed(c, buf + off, len - off < 7 ? len - off : 7);
    struct th_msg m;
    for (uint32_t i = 0; i < 10; i++) {
        cr_assert(th_pop(c, &m));
        cr_assert_eq(m.h.type, XS_WRITE);
        cr_assert_eq(m.h.req_id, 1000 + i);
        cr_assert_str_eq(m.body, "OK");
    }
    char v[16];
    cr_assert_eq(th_read(c, 0, "/p/7", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "v7");
}

Test(proto, errors_are_sent_by_xen_error_name)
{
    struct xs_conn *c = th_conn(&t, 0);
    struct th_msg m;
    th_call(c, XS_READ, 0, "/nope", 6, &m);
    cr_assert_eq(m.h.type, XS_ERROR);
    cr_assert_str_eq(m.body, "ENOENT");
    cr_assert_eq(m.h.len, 7);
    th_call(c, 99, 0, "", 0, &m);
    cr_assert_str_eq(m.body, "EINVAL");
    th_call(c, XS_WATCH_EVENT, 0, "a\0b", 4, &m);
    cr_assert_str_eq(m.body, "EINVAL");
}

Test(proto, strings_without_terminator_and_bad_paths_get_einval)
{
    struct xs_conn *c = th_conn(&t, 0);
    struct th_msg m;
    th_call(c, XS_READ, 0, "/abc", 4, &m); /* no NUL */
    cr_assert_str_eq(m.body, "EINVAL");
    th_call(c, XS_READ, 0, "/a\0/b", 6, &m); /* two strings */
    cr_assert_str_eq(m.body, "EINVAL");
    th_call(c, XS_WRITE, 0, "/abc", 4, &m);
    cr_assert_str_eq(m.body, "EINVAL");
    cr_assert_eq(th_write(c, 0, "/a//b", "x"), -EINVAL);
    cr_assert_eq(th_write(c, 0, "/a/", "x"), -EINVAL);
    cr_assert_eq(th_write(c, 0, "/a b", "x"), -EINVAL);
    cr_assert_eq(th_simple(c, XS_RM, 0, "/"), -EINVAL);
    cr_assert_eq(th_2args(c, XS_WATCH, 0, "/a b", "t"), -EINVAL);
    cr_assert_eq(th_2args(c, XS_SET_PERMS, 0, "/local", "q5"), -EINVAL);
    cr_assert_eq(th_simple(c, XS_GET_DOMAIN_PATH, 0, "-1"), -EINVAL);
    cr_assert_eq(th_simple(c, XS_GET_DOMAIN_PATH, 0, "40000"), -EINVAL);
    /* The connection still works after all that. */
    cr_assert_eq(th_write(c, 0, "/ok", "1"), 0);
}

Test(proto, oversized_length_closes_the_connection)
{
    struct xs_conn *c = th_conn(&t, 0);
    struct xsd_sockmsg h = {XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
    th_feed(c, &h, sizeof(h));
    cr_assert(c->closing);
}

Test(proto, truncated_message_waits_for_the_rest)
{
    struct xs_conn *c = th_conn(&t, 0);
    struct xsd_sockmsg h = {XS_READ, 1, 0, 7};
    th_feed(c, &h, sizeof(h));
    th_feed(c, "/loc", 4);
    struct th_msg m;
    cr_assert_not(th_pop(c, &m));
    th_feed(c, "al", 3);
    cr_assert(th_pop(c, &m));
    cr_assert_eq(m.h.type, XS_READ);
}

Test(proto, rm_of_missing_node_is_ok_when_its_parent_exists)
{
    struct xs_conn *c = th_conn(&t, 0);
    th_write(c, 0, "/a/b", "1");
    cr_assert_eq(th_simple(c, XS_RM, 0, "/a/zz"), 0);
    cr_assert_eq(th_simple(c, XS_RM, 0, "/q/zz"), -ENOENT);
    cr_assert_eq(th_simple(c, XS_RM, 0, "/a"), 0);
    cr_assert_eq(th_read(c, 0, "/a/b", NULL, 0), -ENOENT);
}

Test(proto, mkdir_creates_empty_node_and_keeps_existing_value)
{
    struct xs_conn *c = th_conn(&t, 0);
    cr_assert_eq(th_simple(c, XS_MKDIR, 0, "/m/n"), 0);
    char v[8] = "x";
    cr_assert_eq(th_read(c, 0, "/m/n", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "");
    th_write(c, 0, "/m/n", "keep");
    cr_assert_eq(th_simple(c, XS_MKDIR, 0, "/m/n"), 0);
    th_read(c, 0, "/m/n", v, sizeof(v));
    cr_assert_str_eq(v, "keep");
}

Test(proto, directory_of_10k_children_is_e2big_and_directory_part_pages_through_it)
{
    struct xs_conn *c = th_conn(&t, 0);
    char path[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(path, sizeof(path), "/big/child%d", i);
        cr_assert_eq(th_simple(c, XS_MKDIR, 0, path), 0);
    }
    struct th_msg m;
    th_call(c, XS_DIRECTORY, 0, "/big", 5, &m);
    cr_assert_str_eq(m.body, "E2BIG");
    unsigned long off = 0, seen = 0, parts = 0;
    char gen0[XENSTORE_PAYLOAD_MAX + 1] = "";
    for (;;) {
        char o[16];
        snprintf(o, sizeof(o), "%lu", off);
        char req[64];
        size_t rl = (size_t)snprintf(req, sizeof(req), "/big") + 1;
        rl += (size_t)snprintf(req + rl, sizeof(req) - rl, "%s", o) + 1;
        th_call(c, XS_DIRECTORY_PART, 0, req, rl, &m);
        cr_assert_eq(m.h.type, XS_DIRECTORY_PART, "error %s", m.body);
        parts++;
        if (!gen0[0])
            snprintf(gen0, sizeof(gen0), "%s", m.body);
        cr_assert_str_eq(m.body, gen0, "generation changed without a change");
        size_t p = strlen(m.body) + 1;
        bool done = false;
        while (p < m.h.len) {
            if (m.body[p] == '\0') {
                done = true;
                break;
            }
            snprintf(path, sizeof(path), "child%lu", seen);
            cr_assert_str_eq(m.body + p, path);
            off += strlen(m.body + p) + 1;
            p += strlen(m.body + p) + 1;
            seen++;
        }
        if (done)
            break;
        cr_assert_lt(parts, 100);
    }
    cr_assert_eq(seen, 10000);
    cr_assert_gt(parts, 10);
}

Test(proto, domain_requests_answer_paths_and_introduction_state)
{
    struct xs_conn *c = th_conn(&t, 0);
    struct th_msg m;
    th_call(c, XS_GET_DOMAIN_PATH, 0, "7", 2, &m);
    cr_assert_str_eq(m.body, "/local/domain/7");
    th_call(c, XS_IS_DOMAIN_INTRODUCED, 0, "7", 2, &m);
    cr_assert_str_eq(m.body, "F");
    cr_assert_eq(th_simple(c, XS_RESUME, 0, "7"), -ENOENT);
    cr_assert_eq(th_simple(c, XS_RELEASE, 0, "7"), -ENOENT);
    th_call(c, XS_INTRODUCE, 0,
            "7\0"
            "1234\0"
            "5",
            9, &m);
    cr_assert_str_eq(m.body, "OK");
    th_call(c, XS_IS_DOMAIN_INTRODUCED, 0, "7", 2, &m);
    cr_assert_str_eq(m.body, "T");
    th_call(c, XS_INTRODUCE, 0,
            "7\0"
            "9999\0"
            "5",
            9, &m);
    cr_assert_str_eq(m.body, "EINVAL"); /* another ring for a live domain */
    th_call(c, XS_INTRODUCE, 0,
            "7\0"
            "1234\0"
            "6",
            9, &m);
    cr_assert_str_eq(m.body, "OK"); /* the same ring again (resume) */
    cr_assert_eq(xs_domain_get(&t.d, 7, false)->port, 6);
    cr_assert_eq(th_simple(c, XS_RESUME, 0, "7"), 0);
    cr_assert_eq(th_2args(c, XS_SET_TARGET, 0, "7", "8"), -ENOENT);
    th_call(c, XS_INTRODUCE, 0,
            "8\0"
            "1\0"
            "1",
            6, &m);
    cr_assert_eq(th_2args(c, XS_SET_TARGET, 0, "8", "7"), 0);
    cr_assert_eq(xs_domain_get(&t.d, 8, false)->target, 7);
    cr_assert_eq(th_simple(c, XS_RELEASE, 0, "7"), 0);
    th_call(c, XS_IS_DOMAIN_INTRODUCED, 0, "7", 2, &m);
    cr_assert_str_eq(m.body, "F");
    cr_assert_eq(xs_domain_get(&t.d, 8, false)->target, XS_NO_TARGET);
}

Test(proto, privileged_requests_from_a_domain_are_refused)
{
    struct xs_conn *g = th_conn(&t, 5);
    struct th_msg m;
    th_call(g, XS_INTRODUCE, 0,
            "9\0"
            "1\0"
            "1",
            6, &m);
    cr_assert_str_eq(m.body, "EACCES");
    cr_assert_eq(th_simple(g, XS_RELEASE, 0, "9"), -EACCES);
    cr_assert_eq(th_simple(g, XS_IS_DOMAIN_INTRODUCED, 0, "9"), -EACCES);
    cr_assert_eq(th_simple(g, XS_CONTROL, 0, "help"), -EACCES);
    /* GET_DOMAIN_PATH is for everyone. */
    cr_assert_eq(th_simple(g, XS_GET_DOMAIN_PATH, 0, "5"), 0);
}

Test(proto, control_help_print_quota_and_unknown_commands)
{
    struct xs_conn *c = th_conn(&t, 0);
    struct th_msg m;
    th_call(c, XS_CONTROL, 0, "help", 5, &m);
    cr_assert_eq(m.h.type, XS_CONTROL);
    cr_assert(strstr(m.body, "quota") && strstr(m.body, "print") && strstr(m.body, "log"));
    th_call(c, XS_CONTROL, 0, "print\0hello", 12, &m);
    cr_assert_str_eq(m.body, "OK");
    th_call(c, XS_CONTROL, 0, "quota", 6, &m);
    cr_assert(strstr(m.body, "entry-nb") && strstr(m.body, "1000"), "%s", m.body);
    th_call(c, XS_CONTROL, 0,
            "quota\0set\0entry-nb\0"
            "5",
            21, &m);
    cr_assert_str_eq(m.body, "OK");
    cr_assert_eq(t.d.quota.entry_nb, 5);
    th_call(c, XS_CONTROL, 0,
            "quota\0set\0bogus\0"
            "5",
            18, &m);
    cr_assert_str_eq(m.body, "EINVAL");
    th_call(c, XS_CONTROL, 0, "log\0on", 7, &m);
    cr_assert(t.d.trace_on);
    th_call(c, XS_CONTROL, 0, "frobnicate", 11, &m);
    cr_assert_str_eq(m.body, "EINVAL");
}

Test(proto, control_check_reports_ok_and_finds_broken_accounting)
{
    struct xs_conn *c = th_conn(&t, 0);
    th_write(c, 0, "/local/domain/4/x", "1");
    struct th_msg m;
    th_call(c, XS_SET_PERMS, 0, "/local/domain/4/x\0n4", 21, &m);
    th_call(c, XS_CONTROL, 0, "check", 6, &m);
    cr_assert(strncmp(m.body, "OK", 2) == 0, "%s", m.body);
    xs_domain_get(&t.d, 4, false)->nbentry = 7;
    th_call(c, XS_CONTROL, 0, "check", 6, &m);
    cr_assert_str_eq(m.body, "domain 4 owns 1 nodes, 7 recorded");
}
