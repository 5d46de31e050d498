/* The control server on a private socket: well-formed requests are answered, malformed ones
 * get an error reply or a closed connection, and the server keeps serving others. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../kxend/core.h"
#include "kxen/ctl_client.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_hvm.h"

static char dir[64], path[128];
static pthread_t srv;

static void *serve(void *arg)
{
    (void)arg;
    ctl_server_run();
    return NULL;
}

static void setup(void)
{
    kxend_accel = accel_find("soft");
    snprintf(dir, sizeof(dir), "/tmp/kxend-ctl-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, KXEN_CTL_SOCKET_NAME);
    cr_assert_eq(ctl_server_init(path), 0);
    pthread_create(&srv, NULL, serve, NULL);
}

static void teardown(void)
{
    ctl_server_stop();
    pthread_join(srv, NULL);
    ctl_server_fini();
    domain_destroy_all();
    rmdir(dir);
}

TestSuite(ctl, .init = setup, .fini = teardown);

static int raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

Test(ctl, hello_reports_version_accelerator_and_privilege)
{
    struct kxen_ctl *c;
    struct kxen_ctl_hello_rep h;
    uint32_t len;
    cr_assert_eq(kxen_ctl_open(dir, &c), 0);
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_HELLO, NULL, 0, &h, sizeof(h), &len), 0);
    cr_assert_eq(len, sizeof(h));
    cr_assert_eq(h.version, KXEN_CTL_VERSION);
    cr_assert_str_eq(h.accel, "soft");
    cr_assert_eq(h.privileged, 1u, "same uid as the server");
    kxen_ctl_close(c);
}

Test(ctl, unknown_ops_short_payloads_and_bad_fields_get_error_replies)
{
    struct kxen_ctl *c;
    cr_assert_eq(kxen_ctl_open(dir, &c), 0);
    cr_assert_eq(kxen_ctl_simple(c, 63, NULL, 0, NULL, 0, NULL), -ENOSYS);
    cr_assert_eq(kxen_ctl_simple(c, 0xdeadbeef, NULL, 0, NULL, 0, NULL), -ENOSYS);
    uint8_t small[4] = {0};
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, small, 4, NULL, 0, NULL), -EINVAL);
    struct kxen_ctl_domain_create cr;
    memset(&cr, 'A', sizeof(cr)); /* name without a NUL */
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), NULL, 0, NULL),
                 -EINVAL);
    memset(&cr, 0, sizeof(cr));
    cr.memory_kb = 4096;
    cr.nr_vcpus = 0;
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), NULL, 0, NULL),
                 -EINVAL, "zero vCPUs");
    struct kxen_ctl_domid_arg a = {.domid = 4242};
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_DESTROY, &a, sizeof(a), NULL, 0, NULL), -ESRCH);
    a.domid = 0;
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_PAUSE, &a, sizeof(a), NULL, 0, NULL), -ESRCH,
                 "dom0 is not a guest");
    struct kxen_ctl_domain_load ld;
    memset(&ld, 0, sizeof(ld));
    ld.domid = 1;
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_LOAD, &ld, sizeof(ld), NULL, 0, NULL), -EINVAL,
                 "load without the image fd");
    kxen_ctl_close(c);
}

Test(ctl, a_header_disagreeing_with_the_message_gets_einval_and_garbage_closes_only_that_client)
{
    int fd = raw_connect();
    struct kxen_ctl_hdr h = {.op = KXEN_CTL_HELLO, .seq = 7, .rc = 0, .len = 100};
    cr_assert_eq(send(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    struct kxen_ctl_hdr r;
    cr_assert_eq(recv(fd, &r, sizeof(r), 0), (ssize_t)sizeof(r));
    cr_assert_eq(r.seq, 7u);
    cr_assert_eq(r.rc, -EINVAL);
    /* three bytes: not even a header -> the server drops this connection */
    cr_assert_eq(send(fd, "xyz", 3, 0), 3);
    char b[64];
    cr_assert_eq(recv(fd, b, sizeof(b), 0), 0, "connection closed by the server");
    close(fd);
    struct kxen_ctl *c;
    struct kxen_ctl_hello_rep hr;
    cr_assert_eq(kxen_ctl_open(dir, &c), 0);
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_HELLO, NULL, 0, &hr, sizeof(hr), NULL), 0,
                 "the server still serves other clients");
    kxen_ctl_close(c);
}

Test(ctl, create_getinfo_rename_and_destroy_a_domain_with_events)
{
    struct kxen_ctl *c, *ev;
    cr_assert_eq(kxen_ctl_open(dir, &c), 0);
    cr_assert_eq(kxen_ctl_open(dir, &ev), 0);
    cr_assert_eq(kxen_ctl_simple(ev, KXEN_CTL_EVENTS_SUBSCRIBE, NULL, 0, NULL, 0, NULL), 0);
    struct kxen_ctl_domain_create cr;
    memset(&cr, 0, sizeof(cr));
    strcpy(cr.name, "ctl-dom");
    cr.memory_kb = 4096;
    cr.nr_vcpus = 3;
    struct kxen_ctl_domid_rep dr;
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), &dr, sizeof(dr), NULL),
                 0);
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), &dr, sizeof(dr), NULL),
                 -EEXIST, "names are unique");
    struct kxen_ctl_domid_arg a = {.domid = dr.domid};
    struct kxen_ctl_domain_info info;
    cr_assert_eq(
        kxen_ctl_simple(c, KXEN_CTL_DOMAIN_GETINFO, &a, sizeof(a), &info, sizeof(info), NULL), 0);
    cr_assert_str_eq(info.name, "ctl-dom");
    cr_assert_eq(info.nr_vcpus, 3u);
    cr_assert_eq(info.memory_kb, 4096u);
    cr_assert(info.flags & KXEN_DOMINFO_PAUSED, "a domain being built is paused");
    struct kxen_ctl_domain_rename rn = {.domid = dr.domid};
    strcpy(rn.name, "renamed");
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_RENAME, &rn, sizeof(rn), NULL, 0, NULL), 0);
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_DESTROY, &a, sizeof(a), NULL, 0, NULL), 0);
    cr_assert_eq(
        kxen_ctl_simple(c, KXEN_CTL_DOMAIN_GETINFO, &a, sizeof(a), &info, sizeof(info), NULL),
        -ESRCH);
    uint32_t op, len;
    struct kxen_ctl_domain_event e;
    cr_assert_eq(kxen_ctl_recv_event(ev, 1000, &op, &e, sizeof(e), &len), 0);
    cr_assert_eq(op, KXEN_CTL_EVENT_DOMAIN);
    cr_assert_eq(e.event, KXEN_DOMEV_CREATED);
    cr_assert_eq(kxen_ctl_recv_event(ev, 1000, &op, &e, sizeof(e), &len), 0);
    cr_assert_eq(e.event, KXEN_DOMEV_DESTROYED);
    cr_assert_eq(e.domid, dr.domid);
    kxen_ctl_close(ev);
    kxen_ctl_close(c);
}

/* HVM_BUILD's argument checks, each against a request that differs from an accepted one in
 * that field only: the accepted one (a firmware boot with KXEN_HVM_BUILD_XEN) reaches the
 * builder, which the soft accelerator refuses with -EOPNOTSUPP. */
Test(ctl, hvm_build_refuses_unknown_flags_and_boot_types_and_bad_descriptors)
{
    struct kxen_ctl *c;
    cr_assert_eq(kxen_ctl_open(dir, &c), 0);
    struct kxen_ctl_domain_create cr;
    memset(&cr, 0, sizeof(cr));
    strcpy(cr.name, "hvm-args");
    cr.memory_kb = 8192;
    cr.nr_vcpus = 1;
    struct kxen_ctl_domid_rep dr;
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_CREATE, &cr, sizeof(cr), &dr, sizeof(dr), NULL),
                 0);
    int fds[3];
    for (unsigned i = 0; i < 3; i++)
        cr_assert_geq(fds[i] = memfd_create("bios.bin", MFD_CLOEXEC), 0);
    struct kxen_ctl_hvm_build b;
    memset(&b, 0, sizeof(b));
    b.domid = dr.domid;
    b.boot = KXEN_HVM_BOOT_FIRMWARE;
    b.flags = KXEN_HVM_BUILD_XEN;
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 1, NULL, 0, NULL, NULL, NULL),
        -EOPNOTSUPP, "the reference request reaches the builder");
    b.flags = KXEN_HVM_BUILD_XEN | 0x4;
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 1, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "an unknown flag");
    b.flags = 0x8000;
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 1, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "the top flag bit");
    b.flags = KXEN_HVM_BUILD_XEN;
    b.boot = KXEN_HVM_BOOT_RESTORE + 1;
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 1, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "an unknown boot type");
    b.boot = KXEN_HVM_BOOT_FIRMWARE;
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), NULL, 0, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "no firmware descriptor");
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 2, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "two descriptors for a firmware boot");
    b.boot = KXEN_HVM_BOOT_KERNEL;
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 3, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "three descriptors for a kernel boot");
    memset(b.cmdline, 'x', sizeof(b.cmdline));
    cr_assert_eq(
        kxen_ctl_call(c, KXEN_CTL_HVM_BUILD, &b, sizeof(b), fds, 1, NULL, 0, NULL, NULL, NULL),
        -EINVAL, "a command line without its NUL");
    for (unsigned i = 0; i < 3; i++)
        close(fds[i]);
    struct kxen_ctl_domid_arg a = {.domid = dr.domid};
    cr_assert_eq(kxen_ctl_simple(c, KXEN_CTL_DOMAIN_DESTROY, &a, sizeof(a), NULL, 0, NULL), 0);
    kxen_ctl_close(c);
}
