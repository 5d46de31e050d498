/* Unit tests of libxenstore's connection-free helpers: permission strings, value escaping,
 * subpaths, socket path selection. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

Test(xs_lib, strings_to_perms_parses_every_mode_and_owner_first)
{
    const char s[] = "b0\0r5\0w7\0n12";
    struct xs_permissions p[4];
    cr_assert(xs_strings_to_perms(p, 4, s));
    cr_assert_eq(p[0].id, 0);
    cr_assert_eq(p[0].perms, XS_PERM_READ | XS_PERM_WRITE);
    cr_assert_eq(p[1].id, 5);
    cr_assert_eq(p[1].perms, XS_PERM_READ);
    cr_assert_eq(p[2].perms, XS_PERM_WRITE);
    cr_assert_eq(p[3].id, 12);
    cr_assert_eq(p[3].perms, XS_PERM_NONE);
}

Test(xs_lib, strings_to_perms_rejects_malformed_strings_with_einval)
{
    const char *bad[] = {"x1", "R1", "r", "", "r1x", "r 5", "r99999999999", "b-"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xs_permissions p;
        errno = 0;
        cr_assert_not(xs_strings_to_perms(&p, 1, bad[i]), "accepted '%s'", bad[i]);
        cr_assert_eq(errno, EINVAL, "errno for '%s'", bad[i]);
    }
}

Test(xs_lib, negative_domid_round_trips_like_xen_renders_it)
{
    struct xs_permissions p = {.id = (unsigned int)-1, .perms = XS_PERM_READ}, q;
    char buf[MAX_STRLEN(unsigned int) + 1];
    cr_assert(xs_perm_to_string(&p, buf, sizeof(buf)));
    cr_assert_str_eq(buf, "r-1");
    cr_assert(xs_strings_to_perms(&q, 1, buf));
    cr_assert_eq(q.id, p.id);
}

Test(xs_lib, perm_to_string_rejects_internal_bits_and_short_buffers)
{
    struct xs_permissions p = {.id = 3, .perms = XS_PERM_OWNER};
    char buf[16];
    errno = 0;
    cr_assert_not(xs_perm_to_string(&p, buf, sizeof(buf)));
    cr_assert_eq(errno, EINVAL);
    p.perms = XS_PERM_WRITE;
    p.id = 12345;
    cr_assert_not(xs_perm_to_string(&p, buf, 4));
    cr_assert(xs_perm_to_string(&p, buf, sizeof(buf)));
    cr_assert_str_eq(buf, "w12345");
}

Test(xs_lib, count_strings_counts_terminators_only)
{
    cr_assert_eq(xs_count_strings("a\0bc\0\0", 6), 3);
    cr_assert_eq(xs_count_strings("abc", 3), 0);
    cr_assert_eq(xs_count_strings("", 0), 0);
}

Test(xs_lib, sanitise_value_uses_xen_escapes)
{
    struct expanding_buffer eb = {0};
    const char raw[] = "a\tb\nc\rd\\e\001f\037g\177h\377i\"~ ";
    cr_assert_str_eq(sanitise_value(&eb, raw, sizeof(raw) - 1),
                     "a\\tb\\nc\\rd\\\\e\\001f\\x1fg\\x7fh\\xffi\"~ ");
    free(eb.buf);
}

Test(xs_lib, unsanitise_inverts_sanitise_for_every_byte)
{
    char raw[256];
    for (int i = 0; i < 256; i++)
        raw[i] = (char)(i ^ 0x55); /* every byte value, digits next to escapes */
    struct expanding_buffer eb = {0};
    const char *s = sanitise_value(&eb, raw, sizeof(raw));
    char out[1024];
    unsigned len;
    unsanitise_value(out, &len, s);
    cr_assert_eq(len, sizeof(raw));
    cr_assert_arr_eq(out, raw, sizeof(raw));
    free(eb.buf);
}

Test(xs_lib, unsanitise_accepts_user_forms)
{
    char out[32];
    unsigned len;
    unsanitise_value(out, &len, "a\\x4142\\1234\\q\\x");
    cr_assert_eq(len, 8);
    cr_assert_arr_eq(out, "aA42S4qx", 8);
    unsanitise_value(out, &len, "a\\");
    cr_assert_eq(len, 2, "a trailing backslash becomes a NUL byte, as in Xen");
    cr_assert_eq(out[1], '\0');
}

Test(xs_lib, path_is_subpath_is_a_component_prefix_test)
{
    cr_assert(xs_path_is_subpath("/a", "/a"));
    cr_assert(xs_path_is_subpath("/a", "/a/b"));
    cr_assert_not(xs_path_is_subpath("/a", "/ab"));
    cr_assert_not(xs_path_is_subpath("/a/b", "/a"));
    cr_assert_not(xs_path_is_subpath("/", "/a"), "Xen: \"/\" is no parent by this test");
    cr_assert(xs_path_is_subpath("a", "a/b"));
}

Test(xs_lib, socket_path_prefers_xenstored_path_then_rundir)
{
    unsetenv("XENSTORED_PATH");
    unsetenv("XENSTORED_RUNDIR");
    cr_assert_str_eq(xs_daemon_rundir(), "/var/run/xenstored");
    cr_assert_str_eq(xs_daemon_socket(), "/var/run/xenstored/socket");
    setenv("XENSTORED_RUNDIR", "/tmp/rd", 1);
    cr_assert_str_eq(xs_daemon_socket(), "/tmp/rd/socket");
    cr_assert_str_eq(xs_daemon_socket_ro(), "/tmp/rd/socket");
    setenv("XENSTORED_PATH", "/tmp/p/sock", 1);
    cr_assert_str_eq(xs_daemon_socket(), "/tmp/p/sock");
    cr_assert_str_eq(xs_daemon_rundir(), "/tmp/rd");
}

Test(xs_lib, expanding_buffer_grows_and_keeps_contents)
{
    struct expanding_buffer eb = {0};
    char *p = expanding_buffer_ensure(&eb, 10);
    cr_assert_not_null(p);
    strcpy(p, "keep");
    p = expanding_buffer_ensure(&eb, 5000);
    cr_assert_not_null(p);
    cr_assert_geq(eb.size, 5000);
    cr_assert_str_eq(p, "keep");
    free(eb.buf);
}
