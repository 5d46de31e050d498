/* Event channels: port table, Xen's error codes, the 2-level pending/mask/selector logic and
 * dom0 eventfd ends, on fake domains. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <kxen/event_channel.h>
#include <kxen/xen.h>

#include "kxend/evtchn.h"
#include "test_evtchn_fake_domain.h"

static struct domain *a, *b;

static void setup(void)
{
    a = fake_domain_create(1, 2, false);
    b = fake_domain_create(2, 1, false);
}

static void teardown(void)
{
    fake_domain_destroy(a);
    fake_domain_destroy(b);
}

TestSuite(evtchn, .init = setup, .fini = teardown);

static int64_t ec(struct domain *d, unsigned cmd, void *arg, size_t size)
{
    return fake_hypercall(&evtchn_hypercall, d->vcpus[0], cmd, arg, size, 0);
}

static struct shared_info *si(struct domain *d)
{
    return fake_gpa(d, FAKE_SHARED_INFO_GPA);
}

static bool si_pending(struct domain *d, uint32_t port)
{
    return si(d)->evtchn_pending[port / 64] & (1ul << (port % 64));
}

/* b offers a port to a, a binds it: returns a's port, *bport gets b's. */
static uint32_t connect(struct domain *from, struct domain *to, uint32_t *to_port)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = from->domid};
    cr_assert_eq(ec(to, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    struct evtchn_bind_interdomain bi = {.remote_dom = to->domid, .remote_port = au.port};
    cr_assert_eq(ec(from, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), 0);
    *to_port = au.port;
    return bi.local_port;
}

Test(evtchn, alloc_unbound_then_bind_interdomain_links_both_ends)
{
    uint32_t bport, aport = connect(a, b, &bport);
    cr_assert_neq(aport, 0);
    cr_assert_neq(bport, 0);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = aport};
    cr_assert_eq(ec(a, EVTCHNOP_status, &st, sizeof(st)), 0);
    cr_assert_eq(st.status, EVTCHNSTAT_interdomain);
    cr_assert_eq(st.u.interdomain.dom, 2);
    cr_assert_eq(st.u.interdomain.port, bport);
    st = (struct evtchn_status){.dom = DOMID_SELF, .port = bport};
    cr_assert_eq(ec(b, EVTCHNOP_status, &st, sizeof(st)), 0);
    cr_assert_eq(st.status, EVTCHNSTAT_interdomain);
    cr_assert_eq(st.u.interdomain.port, aport);
}

Test(evtchn, send_sets_pending_selector_and_upcall_after_sync_and_kicks)
{
    uint32_t bport, aport = connect(a, b, &bport);
    evtchn_sync(a->vcpus[0]); /* the conservative bind-time event */
    unsigned kicks = fake_kicks(b->vcpus[0]);
    struct evtchn_send s = {.port = aport};
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert_gt(fake_kicks(b->vcpus[0]), kicks);
    cr_assert_not(si_pending(b, bport), "no guest write before the target's own sync");
    cr_assert(evtchn_sync(b->vcpus[0]));
    cr_assert(si_pending(b, bport));
    cr_assert(si(b)->vcpu_info[0].evtchn_pending_sel & (1ul << (bport / 64)));
    cr_assert_eq(si(b)->vcpu_info[0].evtchn_upcall_pending, 1);
}

Test(evtchn, masked_port_stays_pending_without_upcall_until_unmask)
{
    uint32_t bport, aport = connect(a, b, &bport);
    si(b)->evtchn_mask[bport / 64] |= 1ul << (bport % 64);
    struct evtchn_send s = {.port = aport};
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert_not(evtchn_sync(b->vcpus[0]));
    cr_assert(si_pending(b, bport));
    cr_assert_eq(si(b)->vcpu_info[0].evtchn_pending_sel, 0);
    cr_assert_eq(si(b)->vcpu_info[0].evtchn_upcall_pending, 0);
    struct evtchn_unmask u = {.port = bport};
    cr_assert_eq(ec(b, EVTCHNOP_unmask, &u, sizeof(u)), 0);
    cr_assert_eq(si(b)->evtchn_mask[bport / 64] & (1ul << (bport % 64)), 0);
    cr_assert_eq(si(b)->vcpu_info[0].evtchn_upcall_pending, 1);
    cr_assert(evtchn_sync(b->vcpus[0]));
}

Test(evtchn, upcall_mask_suppresses_upcall_report)
{
    uint32_t bport, aport = connect(a, b, &bport);
    si(b)->vcpu_info[0].evtchn_upcall_mask = 1;
    struct evtchn_send s = {.port = aport};
    ec(a, EVTCHNOP_send, &s, sizeof(s));
    cr_assert_not(evtchn_sync(b->vcpus[0]));
    cr_assert_eq(si(b)->vcpu_info[0].evtchn_upcall_pending, 1);
}

Test(evtchn, close_returns_peer_to_unbound_for_the_closer)
{
    uint32_t bport, aport = connect(a, b, &bport);
    struct evtchn_close c = {.port = aport};
    cr_assert_eq(ec(a, EVTCHNOP_close, &c, sizeof(c)), 0);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = bport};
    cr_assert_eq(ec(b, EVTCHNOP_status, &st, sizeof(st)), 0);
    cr_assert_eq(st.status, EVTCHNSTAT_unbound);
    cr_assert_eq(st.u.unbound.dom, 1);
    st = (struct evtchn_status){.dom = DOMID_SELF, .port = aport};
    cr_assert_eq(ec(a, EVTCHNOP_status, &st, sizeof(st)), 0);
    cr_assert_eq(st.status, EVTCHNSTAT_closed);
    /* a can bind again to the same remote port */
    struct evtchn_bind_interdomain bi = {.remote_dom = 2, .remote_port = bport};
    cr_assert_eq(ec(a, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), 0);
}

/* A restored guest's shared_info still has the pending bits of ports that are gone here: a
 * port handed out again must start without that event (xen-netfront binds its handler before
 * its queues are ready). */
Test(evtchn, a_port_handed_out_again_starts_without_a_stale_event)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 2};
    cr_assert_eq(ec(a, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    struct evtchn_close c = {.port = au.port};
    cr_assert_eq(ec(a, EVTCHNOP_close, &c, sizeof(c)), 0);
    uint32_t stale = au.port;
    si(a)->evtchn_pending[stale / 64] |= 1ul << (stale % 64);
    au = (struct evtchn_alloc_unbound){.dom = DOMID_SELF, .remote_dom = 2};
    cr_assert_eq(ec(a, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    cr_assert_eq(au.port, stale, "the lowest free port is handed out again");
    cr_assert_not(si_pending(a, stale), "alloc_unbound: no event from the port's past");
    cr_assert_eq(ec(a, EVTCHNOP_close, &c, sizeof(c)), 0);
    si(a)->evtchn_pending[stale / 64] |= 1ul << (stale % 64);
    struct evtchn_bind_ipi ipi = {.vcpu = 0};
    cr_assert_eq(ec(a, EVTCHNOP_bind_ipi, &ipi, sizeof(ipi)), 0);
    cr_assert_eq(ipi.port, stale);
    cr_assert_not(si_pending(a, stale), "bind_ipi: no event from the port's past");
}

Test(evtchn, send_on_unbound_port_is_dropped_silently)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 2};
    cr_assert_eq(ec(a, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    struct evtchn_send s = {.port = au.port};
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
}

Test(evtchn, bad_ports_get_einval)
{
    struct evtchn_send s = {.port = KXEN_EVTCHN_NR_PORTS};
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), -EINVAL);
    s.port = 0;
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), -EINVAL);
    struct evtchn_close c = {.port = 77};
    cr_assert_eq(ec(a, EVTCHNOP_close, &c, sizeof(c)), -EINVAL);
    struct evtchn_unmask u = {.port = 0xffffffffu};
    cr_assert_eq(ec(a, EVTCHNOP_unmask, &u, sizeof(u)), -EINVAL);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = 5000};
    cr_assert_eq(ec(a, EVTCHNOP_status, &st, sizeof(st)), -EINVAL);
}

Test(evtchn, bind_interdomain_refuses_ports_not_offered_to_the_caller)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 7};
    cr_assert_eq(ec(b, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    struct evtchn_bind_interdomain bi = {.remote_dom = 2, .remote_port = au.port};
    cr_assert_eq(ec(a, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), -EINVAL);
    bi.remote_dom = 9;
    cr_assert_eq(ec(a, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), -ESRCH);
    bi = (struct evtchn_bind_interdomain){.remote_dom = 2, .remote_port = 4095};
    cr_assert_eq(ec(a, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), -EINVAL);
}

Test(evtchn, unprivileged_domain_cannot_act_on_another)
{
    struct evtchn_alloc_unbound au = {.dom = 2, .remote_dom = DOMID_SELF};
    cr_assert_eq(ec(a, EVTCHNOP_alloc_unbound, &au, sizeof(au)), -EPERM);
    struct evtchn_status st = {.dom = 2, .port = 1};
    cr_assert_eq(ec(a, EVTCHNOP_status, &st, sizeof(st)), -EPERM);
    struct evtchn_reset r = {.dom = 2};
    cr_assert_eq(ec(a, EVTCHNOP_reset, &r, sizeof(r)), -EPERM);
}

Test(evtchn, privileged_domain_allocates_in_another)
{
    struct domain *p = fake_domain_create(3, 1, true);
    struct evtchn_alloc_unbound au = {.dom = 2, .remote_dom = DOMID_SELF};
    cr_assert_eq(ec(p, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = au.port};
    cr_assert_eq(ec(b, EVTCHNOP_status, &st, sizeof(st)), 0);
    cr_assert_eq(st.status, EVTCHNSTAT_unbound);
    cr_assert_eq(st.u.unbound.dom, 3);
    au.dom = 99;
    cr_assert_eq(ec(p, EVTCHNOP_alloc_unbound, &au, sizeof(au)), -ESRCH);
    fake_domain_destroy(p);
}

Test(evtchn, bind_virq_rules)
{
    struct evtchn_bind_virq bv = {.virq = VIRQ_TIMER, .vcpu = 1};
    cr_assert_eq(ec(a, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
    uint32_t port = bv.port;
    cr_assert_eq(ec(a, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -EEXIST);
    bv = (struct evtchn_bind_virq){.virq = VIRQ_DOM_EXC, .vcpu = 1};
    cr_assert_eq(ec(a, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -EINVAL, "global virq on vcpu 1");
    bv = (struct evtchn_bind_virq){.virq = NR_VIRQS, .vcpu = 0};
    cr_assert_eq(ec(a, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -EINVAL);
    bv = (struct evtchn_bind_virq){.virq = VIRQ_TIMER, .vcpu = 5};
    cr_assert_eq(ec(a, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -ENOENT);
    /* the timer VIRQ of vCPU 1 reaches vCPU 1's vcpu_info only */
    evtchn_send_virq(a->vcpus[1], VIRQ_TIMER);
    evtchn_sync(a->vcpus[0]);
    cr_assert(si_pending(a, port));
    cr_assert_eq(si(a)->vcpu_info[0].evtchn_upcall_pending, 0);
    cr_assert_eq(si(a)->vcpu_info[1].evtchn_upcall_pending, 1);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = port};
    ec(a, EVTCHNOP_status, &st, sizeof(st));
    cr_assert_eq(st.status, EVTCHNSTAT_virq);
    cr_assert_eq(st.u.virq, VIRQ_TIMER);
    cr_assert_eq(st.vcpu, 1);
}

Test(evtchn, ipi_and_bind_vcpu_route_to_the_named_vcpu)
{
    struct evtchn_bind_ipi bi = {.vcpu = 1};
    cr_assert_eq(ec(a, EVTCHNOP_bind_ipi, &bi, sizeof(bi)), 0);
    struct evtchn_send s = {.port = bi.port};
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert_not(evtchn_sync(a->vcpus[0]));
    cr_assert_eq(si(a)->vcpu_info[1].evtchn_upcall_pending, 1);
    struct evtchn_bind_vcpu bv = {.port = bi.port, .vcpu = 0};
    cr_assert_eq(ec(a, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -EINVAL, "ipi ports stay put");
    uint32_t bport, aport = connect(a, b, &bport);
    bv = (struct evtchn_bind_vcpu){.port = aport, .vcpu = 1};
    cr_assert_eq(ec(a, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
    bv.vcpu = 9;
    cr_assert_eq(ec(a, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -ENOENT);
    (void)bport;
}

Test(evtchn, bad_pointer_is_efault_and_unknown_op_enosys)
{
    uint64_t args[5] = {EVTCHNOP_send, a->ram_size - 2, 0, 0, 0};
    cr_assert_eq(evtchn_hypercall.fn(a->vcpus[0], args), -EFAULT);
    args[0] = EVTCHNOP_init_control;
    cr_assert_eq(evtchn_hypercall.fn(a->vcpus[0], args), -ENOSYS);
    args[0] = 1000;
    cr_assert_eq(evtchn_hypercall.fn(a->vcpus[0], args), -ENOSYS);
}

Test(evtchn, destroy_returns_peers_to_unbound)
{
    struct domain *c = fake_domain_create(4, 1, false);
    uint32_t bport;
    connect(c, b, &bport);
    fake_domain_destroy(c);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = bport};
    cr_assert_eq(ec(b, EVTCHNOP_status, &st, sizeof(st)), 0);
    cr_assert_eq(st.status, EVTCHNSTAT_unbound);
    cr_assert_eq(st.u.unbound.dom, 4);
}

Test(evtchn, port_table_fills_at_4095_ports)
{
    struct evtchn_bind_ipi bi = {.vcpu = 0};
    for (unsigned i = 1; i < KXEN_EVTCHN_NR_PORTS; i++)
        cr_assert_eq(ec(b, EVTCHNOP_bind_ipi, &bi, sizeof(bi)), 0);
    cr_assert_eq(bi.port, KXEN_EVTCHN_NR_PORTS - 1);
    cr_assert_eq(ec(b, EVTCHNOP_bind_ipi, &bi, sizeof(bi)), -ENOSPC);
}

static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

Test(evtchn, dom0_end_is_an_eventfd_pair_both_ways)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 0};
    cr_assert_eq(ec(a, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    int owner = 0;
    uint32_t port;
    struct evtchn_dom0_fds fds;
    cr_assert_eq(evtchn_dom0_bind_interdomain(1, au.port, &owner, &port, &fds), 0);
    uint64_t cnt;
    cr_assert(readable(fds.notify_fd, 0), "conservative first event");
    cr_assert_eq(read(fds.notify_fd, &cnt, 8), 8);
    /* guest -> dom0 */
    struct evtchn_send s = {.port = au.port};
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert(readable(fds.notify_fd, 1000));
    cr_assert_eq(read(fds.notify_fd, &cnt, 8), 8);
    /* dom0 -> guest, through kxend's poller thread */
    cnt = 1;
    cr_assert_eq(write(fds.kick_fd, &cnt, 8), 8);
    bool seen = false;
    for (int i = 0; i < 200 && !seen; i++) {
        seen = evtchn_port_is_pending(a, au.port);
        if (!seen)
            usleep(5000);
    }
    cr_assert(seen);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = au.port};
    ec(a, EVTCHNOP_status, &st, sizeof(st));
    cr_assert_eq(st.u.interdomain.dom, 0);
    cr_assert_eq(st.u.interdomain.port, port);
    int other = 0;
    cr_assert_eq(evtchn_dom0_close(port, &other), -ENOTCONN);
    cr_assert_eq(evtchn_dom0_close(port, &owner), 0);
    ec(a, EVTCHNOP_status, &st, sizeof(st));
    cr_assert_eq(st.status, EVTCHNSTAT_unbound);
    close(fds.notify_fd);
    close(fds.kick_fd);
}

Test(evtchn, dom0_unbound_port_is_bound_by_the_guest)
{
    int owner = 0;
    uint32_t port;
    struct evtchn_dom0_fds fds;
    cr_assert_eq(evtchn_dom0_bind_unbound(2, &owner, &port, &fds), 0);
    struct evtchn_bind_interdomain bi = {.remote_dom = 0, .remote_port = port};
    cr_assert_eq(ec(a, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), -EINVAL, "offered to d2");
    cr_assert_eq(ec(b, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), 0);
    struct evtchn_send s = {.port = bi.local_port};
    cr_assert_eq(ec(b, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert(readable(fds.notify_fd, 1000));
    evtchn_dom0_close_all(&owner);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = bi.local_port};
    ec(b, EVTCHNOP_status, &st, sizeof(st));
    cr_assert_eq(st.status, EVTCHNSTAT_unbound);
    cr_assert_eq(st.u.unbound.dom, 0);
    close(fds.notify_fd);
    close(fds.kick_fd);
}

Test(evtchn, dom0_global_virq_notifies_its_eventfd)
{
    int owner = 0;
    uint32_t port;
    struct evtchn_dom0_fds fds;
    cr_assert_eq(evtchn_dom0_bind_virq(VIRQ_TIMER, &owner, &port, &fds), -EINVAL);
    cr_assert_eq(evtchn_dom0_bind_virq(VIRQ_DOM_EXC, &owner, &port, &fds), 0);
    struct evtchn_dom0_fds fds2;
    cr_assert_eq(evtchn_dom0_bind_virq(VIRQ_DOM_EXC, &owner, &port, &fds2), -EEXIST);
    evtchn_dom0_send_virq(VIRQ_DOM_EXC);
    cr_assert(readable(fds.notify_fd, 1000));
    evtchn_dom0_close_all(&owner);
    close(fds.notify_fd);
    close(fds.kick_fd);
}

Test(evtchn, dom0_notifies_held_by_the_sending_thread_go_out_once_at_the_flush)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 0};
    cr_assert_eq(ec(a, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    int owner = 0;
    uint32_t port;
    struct evtchn_dom0_fds fds;
    cr_assert_eq(evtchn_dom0_bind_interdomain(1, au.port, &owner, &port, &fds), 0);
    uint64_t cnt;
    cr_assert_eq(read(fds.notify_fd, &cnt, 8), 8); /* the conservative first event */
    struct evtchn_send s = {.port = au.port};
    evtchn_dom0_defer_begin();
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert_eq(evtchn_dom0_deferred(), 1, "one entry a port");
    cr_assert_not(readable(fds.notify_fd, 0), "held while the stretch is open");
    evtchn_dom0_defer_flush();
    cr_assert_eq(evtchn_dom0_deferred(), 0);
    cr_assert(readable(fds.notify_fd, 0), "written at the flush");
    cr_assert_eq(read(fds.notify_fd, &cnt, 8), 8);
    cr_assert_eq(cnt, 1, "one write for the two sends");
    /* Outside a stretch a send is written at once, as before. */
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert(readable(fds.notify_fd, 0));
    cr_assert_eq(read(fds.notify_fd, &cnt, 8), 8);
    /* A port closed while its notify is held: the flush skips it. */
    evtchn_dom0_defer_begin();
    cr_assert_eq(ec(a, EVTCHNOP_send, &s, sizeof(s)), 0);
    cr_assert_eq(evtchn_dom0_close(port, &owner), 0);
    evtchn_dom0_defer_flush();
    cr_assert_not(readable(fds.notify_fd, 0), "nothing for a closed port");
    close(fds.notify_fd);
    close(fds.kick_fd);
}
