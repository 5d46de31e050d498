/* hostile: misuses every hypercall family the way a broken or malicious guest would (bad
 * pointers, impossible lengths, invalid ports and grant refs, other domains' resources, a
 * hypercall storm). Each call must fail with Xen's error code and the guest must keep running;
 * it ends with "RESULT PASS" and a poweroff. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/grant_table.h>
#include <kxen/hvm/params.h>
#include <kxen/memory.h>
#include <kxen/sched.h>
#include <kxen/vcpu.h>
#include <kxen/version.h>

#include "guest/evtchn.h"
#include "guest/gnttab.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"
#include "guest/time.h"

/* Addresses no guest owns: far past RAM, a kernel-half address, and the last byte of the
 * address space (any length wraps). */
#define UNMAPPED ((void *)0x7f0000000000UL)
#define KERNELISH ((void *)0xffff800000000000UL)
#define TOP ((void *)0xffffffffffffffffUL)
#define NO_SUCH_DOMAIN 0x7000
/* Guest-physical address above any test guest's RAM and below the APIC hole: where a grant
 * map may go (kxend refuses host_addr inside RAM). */
#define MAP_OUTSIDE_RAM 0x80000000UL

static uint8_t page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void bad_pointers(void)
{
    void *const bad[] = {UNMAPPED, KERNELISH, TOP};
    const char *const names[] = {"unmapped", "kernel-looking", "top-of-memory"};
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        const char *n = names[i];
        tap_rc(HYPERVISOR_console_io(CONSOLEIO_write, 16, bad[i]), -XEN_EFAULT,
               "console_io write from a %s buffer -> EFAULT", n);
        tap_rc(HYPERVISOR_xen_version(XENVER_extraversion, bad[i]), -XEN_EFAULT,
               "xen_version extraversion into a %s buffer -> EFAULT", n);
        tap_rc(HYPERVISOR_memory_op(XENMEM_add_to_physmap, bad[i]), -XEN_EFAULT,
               "memory_op add_to_physmap with a %s argument -> EFAULT", n);
        tap_rc(HYPERVISOR_hvm_op(HVMOP_get_param, bad[i]), -XEN_EFAULT,
               "hvm_op get_param with a %s argument -> EFAULT", n);
        tap_rc(HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, bad[i]), -XEN_EFAULT,
               "vcpu_op get_runstate_info into a %s buffer -> EFAULT", n);
        tap_rc(HYPERVISOR_event_channel_op(EVTCHNOP_send, bad[i]), -XEN_EFAULT,
               "event_channel_op send with a %s argument -> EFAULT", n);
        tap_rc(HYPERVISOR_sched_op(SCHEDOP_poll, bad[i]), -XEN_EFAULT,
               "sched_op poll with a %s argument -> EFAULT", n);
        tap_rc(HYPERVISOR_grant_table_op(GNTTABOP_query_size, bad[i], 1), -XEN_EFAULT,
               "grant_table_op query_size with a %s argument -> EFAULT", n);
    }
    /* a valid pointer with an impossible length */
    tap_rc(HYPERVISOR_console_io(CONSOLEIO_write, 1UL << 40, page), -XEN_EFAULT,
           "console_io write of 2^40 bytes from a valid page -> EFAULT");
    /* good structure, bad pointer inside it */
    struct xen_memory_map mm = {.nr_entries = 8};
    set_xen_guest_handle(mm.buffer, UNMAPPED);
    tap_rc(HYPERVISOR_memory_op(XENMEM_memory_map, &mm), -XEN_EFAULT,
           "memory_op memory_map into an unmapped buffer -> EFAULT");
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
    set_xen_guest_handle(st.frame_list, (xen_pfn_t *)UNMAPPED);
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    tap_check(rc == -XEN_EFAULT || (rc == 0 && st.status == GNTST_bad_virt_addr),
              "grant_table_op setup_table with an unmapped frame list fails (rc %ld, status %d)",
              rc, st.status);
    struct sched_poll poll = {.nr_ports = 1, .timeout = 0};
    set_xen_guest_handle(poll.ports, (evtchn_port_t *)UNMAPPED);
    tap_rc(HYPERVISOR_sched_op(SCHEDOP_poll, &poll), -XEN_EFAULT,
           "sched_op poll with an unmapped port list -> EFAULT");
    struct vcpu_register_vcpu_info vi = {.mfn = (uintptr_t)UNMAPPED >> PAGE_SHIFT, .offset = 0};
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &vi), -XEN_EINVAL,
           "vcpu_op register_vcpu_info on a frame outside RAM -> EINVAL");
}

static void bad_ports(void)
{
    const evtchn_port_t ports[] = {4096, 100000, 0xffffffffu};
    for (unsigned i = 0; i < ARRAY_SIZE(ports); i++) {
        evtchn_port_t p = ports[i];
        tap_rc(evtchn_send(p), -XEN_EINVAL, "send on port %u -> EINVAL", p);
        tap_rc(evtchn_unmask(p), -XEN_EINVAL, "unmask port %u -> EINVAL", p);
        tap_rc(evtchn_close(p), -XEN_EINVAL, "close port %u -> EINVAL", p);
        tap_rc(evtchn_bind_vcpu(p, 0), -XEN_EINVAL, "bind_vcpu port %u -> EINVAL", p);
    }
    evtchn_port_t p;
    tap_rc(evtchn_alloc_unbound(DOMID_SELF, &p), 0, "alloc_unbound for ourselves works (baseline)");
    struct evtchn_alloc_unbound au = {.dom = 0, .remote_dom = DOMID_SELF};
    tap_rc(HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au), -XEN_EPERM,
           "alloc_unbound in another domain's table -> EPERM");
    struct evtchn_bind_interdomain bi = {.remote_dom = NO_SUCH_DOMAIN, .remote_port = 1};
    tap_rc(HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi), -XEN_ESRCH,
           "bind_interdomain to a domain that does not exist -> ESRCH");
    bi = (struct evtchn_bind_interdomain){.remote_dom = 0, .remote_port = 4095};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
    tap_check(rc == -XEN_EINVAL || rc == -XEN_EPERM,
              "bind_interdomain to a dom0 port never offered to us fails (rc %ld)", rc);
    tap_rc(evtchn_bind_virq(VIRQ_TIMER, 200, &p), -XEN_ENOENT, "bind_virq on vCPU 200 -> ENOENT");
    tap_rc(evtchn_bind_ipi(200, &p), -XEN_ENOENT, "bind_ipi on vCPU 200 -> ENOENT");
}

static int16_t copy_status(struct gnttab_copy *cp, long *rc)
{
    *rc = HYPERVISOR_grant_table_op(GNTTABOP_copy, cp, 1);
    return cp->status;
}

static void grant_abuse(void)
{
    long rc;
    struct gnttab_copy cp = {
        .source = {.u.ref = 100000, .domid = DOMID_SELF, .offset = 0},
        .dest = {.u.gmfn = (uintptr_t)page >> PAGE_SHIFT, .domid = DOMID_SELF, .offset = 0},
        .len = 16,
        .flags = GNTCOPY_source_gref,
    };
    tap_check(copy_status(&cp, &rc) == GNTST_bad_gntref && rc == 0,
              "copy from our own ref 100000 (past the table) -> GNTST_bad_gntref (%d)", cp.status);
    cp.source.u.ref = 5000;
    cp.source.domid = 0;
    int16_t s = copy_status(&cp, &rc);
    tap_check(rc == 0 && s < 0, "copy from dom0 ref 5000 never granted to us fails (status %d)", s);
    cp.source.u.ref = 9;
    cp.source.domid = NO_SUCH_DOMAIN;
    tap_check(copy_status(&cp, &rc) == GNTST_bad_domain && rc == 0,
              "copy from a domain that does not exist -> GNTST_bad_domain (%d)", cp.status);
    /* a grant we made for someone else cannot be used by us */
    grant_ref_t ref;
    if (gnttab_grant_access(0, (uintptr_t)page >> PAGE_SHIFT, false, &ref) == 0) {
        cp.source.u.ref = ref;
        cp.source.domid = DOMID_SELF;
        s = copy_status(&cp, &rc);
        tap_check(rc == 0 && s < 0, "copy through a grant made for dom0 fails (status %d)", s);
        gnttab_end_access(ref);
    } else {
        tap_check(false, "grant_access to dom0 for the abuse test");
    }
    /* destination a frame outside our RAM */
    cp = (struct gnttab_copy){
        .source = {.u.gmfn = (uintptr_t)page >> PAGE_SHIFT, .domid = DOMID_SELF},
        .dest = {.u.gmfn = 0xfffffffffUL, .domid = DOMID_SELF},
        .len = 16,
    };
    s = copy_status(&cp, &rc);
    tap_check(rc == 0 && s < 0, "copy into a frame outside our RAM fails (status %d)", s);
    /* copy into another domain's frame without a grant */
    cp.dest.u.gmfn = 0x100;
    cp.dest.domid = 0;
    s = copy_status(&cp, &rc);
    tap_check(rc == 0 && s < 0, "copy into a dom0 frame without a grant fails (status %d)", s);

    /* Maps go to a free address above RAM, so only the grant checks can refuse them. */
    struct gnttab_map_grant_ref map = {
        .host_addr = MAP_OUTSIDE_RAM, .flags = GNTMAP_host_map, .ref = 5000, .dom = 0};
    rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &map, 1);
    tap_check(rc == 0 && map.status < 0,
              "map of a dom0 ref never granted to us fails (rc %ld, status %d)", rc, map.status);
    if (gnttab_grant_access(0, (uintptr_t)page >> PAGE_SHIFT, false, &ref) == 0) {
        map = (struct gnttab_map_grant_ref){
            .host_addr = MAP_OUTSIDE_RAM, .dom = DOMID_SELF, .flags = GNTMAP_host_map, .ref = ref};
        rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &map, 1);
        tap_check(rc == 0 && map.status == GNTST_general_error,
                  "map of a grant made for dom0, not us -> GNTST_general_error (rc %ld, status %d)",
                  rc, map.status);
        gnttab_end_access(ref);
    }
    /* A grant to ourselves is valid, but not over our own RAM. */
    int self = xen_self_domid();
    if (self >= 0 &&
        gnttab_grant_access((domid_t)self, (uintptr_t)page >> PAGE_SHIFT, false, &ref) == 0) {
        map = (struct gnttab_map_grant_ref){.host_addr = (uintptr_t)page + PAGE_SIZE,
                                            .dom = DOMID_SELF,
                                            .flags = GNTMAP_host_map,
                                            .ref = ref};
        rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &map, 1);
        tap_check(rc == 0 && map.status == GNTST_general_error,
                  "map of our own grant over our own RAM -> GNTST_general_error (rc %ld, "
                  "status %d)",
                  rc, map.status);
        tap_rc(gnttab_end_access(ref), 0, "that refused map left the grant unused");
    }
    struct gnttab_unmap_grant_ref unmap = {.host_addr = (uintptr_t)page, .handle = 12345};
    rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &unmap, 1);
    tap_check(rc == 0 && unmap.status == GNTST_bad_handle,
              "unmap of a handle we never got -> GNTST_bad_handle (rc %ld, status %d)", rc,
              unmap.status);
    struct gnttab_setup_table st = {.dom = 0, .nr_frames = 1};
    xen_pfn_t frame;
    set_xen_guest_handle(st.frame_list, &frame);
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    tap_check(rc == -XEN_EPERM || (rc == 0 && st.status < 0),
              "setup_table on dom0's table fails (rc %ld, status %d)", rc, st.status);
    tap_rc(gnttab_end_access(3), -XEN_EINVAL, "end_access of a reserved ref is refused locally");
}

static void other_domains(void)
{
    domid_t dom0 = 0;
    tap_rc(HYPERVISOR_memory_op(XENMEM_current_reservation, &dom0), -XEN_EPERM,
           "current_reservation of dom0 -> EPERM");
    struct sched_remote_shutdown rs = {.domain_id = 0, .reason = SHUTDOWN_poweroff};
    tap_rc(HYPERVISOR_sched_op(SCHEDOP_remote_shutdown, &rs), -XEN_EPERM,
           "remote_shutdown of dom0 -> EPERM");
    struct xen_hvm_param p = {.domid = NO_SUCH_DOMAIN, .index = HVM_PARAM_STORE_PFN};
    tap_rc(HYPERVISOR_hvm_op(HVMOP_get_param, &p), -XEN_ESRCH,
           "get_param of a domain that does not exist -> ESRCH");
    struct xen_add_to_physmap xatp = {
        .domid = 0, .space = XENMAPSPACE_shared_info, .gpfn = (uintptr_t)page >> PAGE_SHIFT};
    tap_rc(HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp), -XEN_EPERM,
           "add_to_physmap into dom0 -> EPERM");
}

static void unknown_calls(void)
{
    static const unsigned nrs[] = {0, 1, 2, 40, 41, 42, 48, 100, 127};
    for (unsigned i = 0; i < ARRAY_SIZE(nrs); i++)
        tap_rc(hypercall5(nrs[i], ~0UL, ~0UL, ~0UL, ~0UL, ~0UL), -XEN_ENOSYS,
               "hypercall %u with garbage arguments -> ENOSYS", nrs[i]);
}

static void count_hit(evtchn_port_t port, void *data)
{
    (void)port;
    (*(volatile unsigned *)data)++;
}

static void storm(void)
{
    const unsigned n = 20000;
    long want = HYPERVISOR_xen_version(XENVER_version, 0);
    unsigned bad = 0;
    uint64_t t0 = monotonic_ns();
    for (unsigned i = 0; i < n; i++) {
        if (HYPERVISOR_xen_version(XENVER_version, 0) != want)
            bad++;
        if (evtchn_send(100000) != -XEN_EINVAL)
            bad++;
    }
    uint64_t dt = monotonic_ns() - t0;
    tap_check(bad == 0, "storm: %u valid and %u invalid calls all answered correctly (%lu ns each)",
              n, n, (unsigned long)(dt / (2 * n)));
    /* an event storm at ourselves: pending bits coalesce, the guest keeps up */
    evtchn_port_t ipi;
    static volatile unsigned ipi_hits;
    if (evtchn_bind_ipi(0, &ipi) == 0 && evtchn_bind(ipi, count_hit, (void *)&ipi_hits) == 0) {
        unsigned failed = 0;
        for (unsigned i = 0; i < n; i++)
            failed += evtchn_send(ipi) != 0;
        sleep_ns(2000000);
        tap_check(failed == 0 && ipi_hits >= 1 && ipi_hits <= n,
                  "storm: %u sends to our own IPI port, %u upcalls handled", n, ipi_hits);
        evtchn_unbind(ipi);
        evtchn_close(ipi);
    } else {
        tap_check(false, "storm: bind an IPI port for the event storm");
    }
    /* Still alive and scheduled: a singleshot timer armed now still reaches us. This waits
     * for the timer's upcall itself, not for 2 ms of guest time: sleep_ns() returns once its
     * deadline has passed on the guest clock, which can happen before kxend has raised the
     * VIRQ_TIMER for that deadline (the vCPU thread preempted on a loaded host, or the block
     * woken by another event, then the clock read past the deadline). */
    uint64_t before = timer_fired_count;
    uint64_t t1 = monotonic_ns();
    int armed = timer_set_deadline(t1 + 1000000);
    uint64_t waited;
    for (;;) {
        struct vcpu_info *vi = evtchn_vcpu_info;
        local_irq_disable();
        WRITE_ONCE(vi->evtchn_upcall_mask, 1);
        mb();
        evtchn_do_upcall();
        WRITE_ONCE(vi->evtchn_upcall_mask, 0);
        local_irq_enable();
        waited = monotonic_ns() - t1;
        if (timer_fired_count > before || waited > 2000000000ull)
            break;
        __asm__ volatile("pause");
    }
    tap_check(
        armed == 0 && timer_fired_count > before,
        "storm: the guest still gets its timer afterwards (1 ms singleshot, upcall after %lu us)",
        (unsigned long)(waited / 1000));
}

int main(void)
{
    hv_printf("kxen hostile guest: entered through %s\n", boot_info.accel_path);
    bad_pointers();
    bad_ports();
    grant_abuse();
    other_domains();
    unknown_calls();
    storm();
    tap_finish();
    guest_shutdown(SHUTDOWN_poweroff);
}
