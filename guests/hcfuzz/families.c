/* Argument builders per hypercall family. Each draws a sub-op (mostly the valid ones, so real
 * code paths are reached, sometimes a random number) and fills the argument structure with
 * structured garbage, then fixes only the fields that would let the call hurt this guest itself
 * (kxend writing over our code, moving our event machinery away, ending the domain): what is
 * under test is kxend, not the guest's ability to shoot itself. */
#include <stddef.h>
#include <stdint.h>

#include <kxen/event_channel.h>
#include <kxen/grant_table.h>
#include <kxen/hvm/hvm_op.h>
#include <kxen/hvm/params.h>
#include <kxen/memory.h>
#include <kxen/sched.h>
#include <kxen/vcpu.h>
#include <kxen/version.h>
#include <kxen/xen.h>

#include "guest/lib.h"
#include "guest/time.h"
#include "hcfuzz.h"

/* A sub-op: one of the first `valid` values most of the time, else anything. */
static uint64_t pick_sub(uint64_t valid)
{
    if (chance(85))
        return rnd_below(valid);
    return chance(50) ? rnd_below(64) : rnd();
}

static unsigned bucket(uint64_t sub)
{
    return sub < 31 ? (unsigned)sub : 31;
}

/* A frame kxend may keep writing to later, from the zone's part for that use: 0 shared_info
 * moves, 1 grant-table frames, 2 runstate areas (kept apart so one never rewrites another). */
static uint64_t zone_pfn(unsigned part)
{
    uint64_t third = plan.zone_pages / 3;
    return (plan.zone >> 12) + part * third + rnd_below(third);
}

/* A frame number for the guest-physical fields kxend writes through. */
static uint64_t safe_pfn(void)
{
    switch (rnd_below(6)) {
    case 0:
        return plan.ram_end >> 12; /* first frame past RAM */
    case 1:
        return rnd() | (1ull << 40); /* far past RAM */
    case 2:
        return (plan.usable_end >> 12) + rnd_below((plan.ram_end - plan.usable_end) >> 12);
    default:
        return (plan.arena >> 12) + rnd_below((plan.arena_end - plan.arena) >> 12);
    }
}

static void *arg_buf(uint64_t len, uint64_t *addr)
{
    void *p = slot(len);
    garbage(p, len);
    *addr = (uint64_t)(uintptr_t)p;
    return p;
}

/* Where the argument structure goes: usually a built slot, sometimes a bare pointer kind. */
static bool bare_arg(struct call *c, int idx, bool written)
{
    if (!chance(12))
        return false;
    c->a[idx] = written ? wptr() : rptr();
    return true;
}

static void fam_version(struct call *c)
{
    uint64_t sub = pick_sub(11);
    c->a[0] = sub;
    c->sub = bucket(sub);
    if (!bare_arg(c, 1, true))
        arg_buf(256, &c->a[1]);
}

/* Console writes that can succeed are kept within a budget, so the ring (the newest 64 KiB)
 * still holds the figures printed at the end. */
static uint64_t console_budget = 12 * 1024;

static void fam_console(struct call *c)
{
    uint64_t sub = pick_sub(2);
    c->a[0] = sub;
    c->sub = bucket(sub);
    c->a[1] = chance(70) ? rnd_below(512) : rnd_count();
    if (sub == CONSOLEIO_write && c->a[1] < 4096 && c->a[1] <= console_budget && chance(60)) {
        uint64_t len = c->a[1];
        uint8_t *b = slot(len + 1);
        for (uint64_t i = 0; i < len; i++) /* printable, with some control bytes */
            b[i] = chance(97) ? (uint8_t)(0x20 + rnd_below(95)) : (uint8_t)rnd_below(32);
        c->a[2] = (uint64_t)(uintptr_t)b;
        console_budget -= len;
    } else if (sub == CONSOLEIO_write && c->a[1] && c->a[1] < (1ull << 30)) {
        c->a[2] = badptr(); /* fails (at most a few bytes before the end of RAM) */
    } else {
        c->a[2] = sub == CONSOLEIO_write ? rptr() : wptr();
    }
}

static bool fam_sched(struct call *c)
{
    uint64_t sub = pick_sub(7);
    c->a[0] = sub;
    c->sub = bucket(sub);
    if (sub == SCHEDOP_shutdown)
        return false; /* ends the guest: avoided */
    if (sub == SCHEDOP_block) {
        c->arm_timer = true;
        return true;
    }
    if (bare_arg(c, 1, false)) {
        if (sub == SCHEDOP_poll || sub == SCHEDOP_watchdog)
            c->a[1] = plan.ram_end - 4; /* unreadable for those structs: EFAULT, never blocks */
        return true;
    }
    uint64_t a;
    if (sub == SCHEDOP_poll) {
        struct sched_poll *p = arg_buf(sizeof(*p), &a);
        p->ports.q = chance(50) ? (uint64_t)(uintptr_t)arg_buf(64, &a) : rptr();
        p->nr_ports = (unsigned)(chance(70) ? rnd_below(8) : rnd_count());
        /* A bounded wait whatever the ports: a deadline at most 2 ms ahead (or past). */
        uint64_t now = monotonic_ns();
        p->timeout = chance(80) ? now + rnd_below(2000000) + 1 : rnd_below(now) + 1;
        c->arm_timer = true;
        c->a[1] = (uint64_t)(uintptr_t)p;
        return true;
    }
    if (sub == SCHEDOP_watchdog) {
        struct sched_watchdog *w = arg_buf(sizeof(*w), &a);
        if (w->id == 0)
            w->id = 1 + (uint32_t)rnd_below(8); /* a new watchdog would kill us later */
        c->a[1] = a;
        return true;
    }
    arg_buf(64, &c->a[1]); /* remote_shutdown of anyone (EPERM), shutdown_code, yield */
    return true;
}

static void fam_memory(struct call *c)
{
    static const uint64_t cmds[] = {XENMEM_increase_reservation,
                                    XENMEM_decrease_reservation,
                                    XENMEM_maximum_ram_page,
                                    XENMEM_current_reservation,
                                    XENMEM_maximum_reservation,
                                    XENMEM_populate_physmap,
                                    XENMEM_add_to_physmap,
                                    XENMEM_memory_map,
                                    XENMEM_maximum_gpfn,
                                    XENMEM_add_to_physmap,
                                    XENMEM_exchange,
                                    XENMEM_remove_from_physmap};
    uint64_t cmd = chance(90) ? cmds[rnd_below(ARRAY_SIZE(cmds))] : rnd_below(64);
    c->sub = bucket(cmd);
    c->a[0] = cmd;
    uint64_t a;
    switch (cmd) {
    case XENMEM_increase_reservation:
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap: {
        struct xen_memory_reservation *r = arg_buf(sizeof(*r), &a);
        r->extent_order = (unsigned)(chance(80) ? rnd_below(4) : rnd_below(64));
        r->nr_extents = chance(70) ? rnd_below(8) : rnd_count();
        /* The list: frames of the arena aligned to the order (decrease punches them), then
         * one impossible frame so a huge count stops there. */
        unsigned n = (unsigned)rnd_below(8);
        uint64_t *list = slot((n + 1) * 8);
        uint64_t span = 1ull << (r->extent_order < 20 ? r->extent_order : 20);
        uint64_t first = (plan.arena >> 12) + span, last = plan.arena_end >> 12;
        for (unsigned i = 0; i < n; i++) {
            uint64_t pfn = first + rnd_below(last > first + span ? last - first - span : 1);
            list[i] = chance(80) ? pfn & ~(span - 1) : safe_pfn() | (1ull << 40);
        }
        list[n] = ~0ull;
        /* Xen's continuation encoding: a start extent above the low 6 bits, inside the list
         * or far past any count (never into the garbage after our list). */
        if (chance(10))
            c->a[0] |= (chance(50) ? rnd_below(n + 1) : 1ull << (30 + rnd_below(28))) << 6;
        r->extent_start.q = chance(85) ? (uint64_t)(uintptr_t)list : badptr();
        /* never a bare pointer into RAM: its bytes would hand kxend our own frames */
        c->a[1] = chance(90) ? a : badptr();
        return;
    }
    case XENMEM_add_to_physmap: {
        struct xen_add_to_physmap *x = arg_buf(sizeof(*x), &a);
        if (chance(70))
            x->domid = chance(50) ? DOMID_SELF : (domid_t)plan.domid;
        x->space = chance(80) ? (unsigned)rnd_below(2) : (unsigned)rnd();
        if (x->space == XENMAPSPACE_shared_info) {
            x->idx = chance(85) ? 0 : rnd();
            x->gpfn = chance(50) ? zone_pfn(0) : safe_pfn();
            c->move_back_shinfo = true;
        } else if (x->space == XENMAPSPACE_grant_table) {
            x->idx = chance(85) ? rnd_below(40) : rnd();
            x->gpfn = chance(50) ? zone_pfn(1) : safe_pfn();
        }
        c->a[1] = a;
        return;
    }
    case XENMEM_memory_map: {
        struct xen_memory_map *m = arg_buf(sizeof(*m), &a);
        m->nr_entries = (unsigned)(chance(70) ? rnd_below(4) : rnd_count());
        m->buffer.q = wptr();
        if (!bare_arg(c, 1, true))
            c->a[1] = a;
        return;
    }
    default:
        if (!bare_arg(c, 1, true))
            arg_buf(128, &c->a[1]);
        return;
    }
}

static void fam_hvm(struct call *c)
{
    static const uint64_t cmds[] = {HVMOP_set_param, HVMOP_get_param, HVMOP_get_time,
                                    HVMOP_set_evtchn_upcall_vector, HVMOP_pagetable_dying};
    uint64_t cmd = chance(85) ? cmds[rnd_below(ARRAY_SIZE(cmds))] : rnd_below(64);
    c->a[0] = cmd;
    c->sub = bucket(cmd);
    uint64_t a;
    if (cmd == HVMOP_set_param || cmd == HVMOP_get_param) {
        struct xen_hvm_param *p = arg_buf(sizeof(*p), &a);
        if (chance(60))
            p->domid = chance(50) ? DOMID_SELF : (domid_t)plan.domid;
        p->index = (uint32_t)(chance(80) ? rnd_below(70) : rnd());
        if (cmd == HVMOP_set_param && p->index == HVM_PARAM_CALLBACK_IRQ)
            /* our vector again, or a via kxend must refuse (GSI, PCI, low/huge vector) */
            p->value = chance(30) ? (2ull << 56) | 0xf3
                                  : (rnd_below(2) << 56) | (rnd() & 0xffffffffff) | 1;
        c->a[1] = a;
        if (cmd == HVMOP_get_param)
            bare_arg(c, 1, true);
        return;
    }
    if (cmd == HVMOP_set_evtchn_upcall_vector) {
        struct xen_hvm_evtchn_upcall_vector *u = arg_buf(sizeof(*u), &a);
        if (u->vcpu == 0 || chance(50)) {
            u->vcpu = chance(50) ? 0 : (uint32_t)rnd();
            u->vector =
                u->vcpu == 0 ? (chance(50) ? 0xf3 : (uint8_t)rnd_below(0x10)) : (uint8_t)rnd();
        }
        c->a[1] = a;
        return;
    }
    if (!bare_arg(c, 1, true))
        arg_buf(64, &c->a[1]);
}

static bool fam_vcpu(struct call *c)
{
    uint64_t cmd = pick_sub(14);
    c->a[0] = cmd;
    c->sub = bucket(cmd);
    c->a[1] = chance(80) ? 0 : rnd_count();
    if (cmd == VCPUOP_down && c->a[1] == 0)
        return false; /* stops our only vCPU for good: avoided */
    uint64_t a;
    if (cmd == VCPUOP_register_runstate_memory_area) {
        struct vcpu_register_runstate_memory_area *m = arg_buf(sizeof(*m), &a);
        /* kxend keeps writing the area at every state change: only in its part of the zone
         * (in the arena it rewrote arguments between their checks and the call: a watchdog
         * with id 0 appeared; on a page shared_info visits it would eat event bits). */
        uint64_t pfn = chance(60)   ? zone_pfn(2)
                       : chance(50) ? plan.ram_end >> 12
                                    : rnd() | (1ull << 40);
        m->addr.p = chance(20) ? 0 : pfn << 12 | rnd_below(4096 - 48);
        c->a[2] = a;
        return true;
    }
    /* register_vcpu_info: ours is registered already (once per vCPU), so any frame fails */
    if (!bare_arg(c, 2, true))
        arg_buf(64, &c->a[2]);
    return true;
}

static void fam_evtchn(struct call *c)
{
    uint64_t cmd = pick_sub(14);
    c->a[0] = cmd;
    c->sub = bucket(cmd);
    if (bare_arg(c, 1, true)) {
        if (cmd == EVTCHNOP_close || cmd == EVTCHNOP_bind_vcpu || cmd == EVTCHNOP_reset)
            c->a[1] = plan.ram_end - 2; /* unreadable: never closes one of the runtime's */
        return;
    }
    uint32_t *w = arg_buf(64, &c->a[1]);
    switch (cmd) {
    case EVTCHNOP_close:
    case EVTCHNOP_bind_vcpu:
        w[0] = rnd_port(true);
        w[1] = chance(70) ? 0 : (uint32_t)rnd_count();
        return;
    case EVTCHNOP_send:
    case EVTCHNOP_unmask:
        w[0] = rnd_port(false);
        return;
    case EVTCHNOP_status: {
        struct evtchn_status *s = (struct evtchn_status *)w;
        s->dom = rnd_domid();
        s->port = rnd_port(false);
        return;
    }
    case EVTCHNOP_reset: {
        struct evtchn_reset *r = (struct evtchn_reset *)w;
        r->dom = rnd_domid();
        if (r->dom == DOMID_SELF || r->dom == plan.domid)
            r->dom = 0; /* resetting ourselves closes the runtime's ports */
        return;
    }
    case EVTCHNOP_bind_virq: {
        struct evtchn_bind_virq *b = (struct evtchn_bind_virq *)w;
        b->virq = (uint32_t)(chance(70) ? rnd_below(24) : rnd());
        b->vcpu = chance(80) ? 0 : (uint32_t)rnd_count();
        c->out_port = &b->port;
        return;
    }
    case EVTCHNOP_bind_ipi: {
        struct evtchn_bind_ipi *b = (struct evtchn_bind_ipi *)w;
        b->vcpu = chance(80) ? 0 : (uint32_t)rnd_count();
        c->out_port = &b->port;
        return;
    }
    case EVTCHNOP_alloc_unbound: {
        struct evtchn_alloc_unbound *u = (struct evtchn_alloc_unbound *)w;
        u->dom = chance(40) ? DOMID_SELF : rnd_domid();
        u->remote_dom = chance(40) ? (uint16_t)plan.domid : rnd_domid(); /* loopback */
        c->out_port = &u->port;
        return;
    }
    case EVTCHNOP_bind_interdomain: {
        struct evtchn_bind_interdomain *b = (struct evtchn_bind_interdomain *)w;
        b->remote_dom = chance(50) ? (chance(50) ? DOMID_SELF : (uint16_t)plan.domid) : rnd_domid();
        b->remote_port = rnd_port(true);
        c->out_port = &b->local_port;
        return;
    }
    default:
        return;
    }
}

static void fam_gnttab(struct call *c)
{
    uint64_t cmd = pick_sub(13);
    c->a[0] = cmd;
    c->sub = bucket(cmd);
    c->a[2] = chance(75) ? 1 + rnd_below(4) : rnd_count();
    if (cmd != GNTTABOP_copy && c->a[2] <= 8 && bare_arg(c, 1, true))
        return; /* (a copy read from garbage could name one of our frames as destination) */
    unsigned n = (unsigned)(c->a[2] < 8 ? c->a[2] : 8);
    uint8_t *ops = arg_buf(64 * (n + 1), &c->a[1]);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *op = ops + 64 * i;
        if (cmd == GNTTABOP_copy) {
            struct gnttab_copy *cp = (struct gnttab_copy *)op;
            cp->flags = (uint16_t)(chance(80) ? rnd_below(4) : rnd());
            cp->source.domid = rnd_domid();
            cp->dest.domid = rnd_domid();
            cp->source.u.gmfn = chance(50) ? rnd_below(64) : rptr() >> 12;
            /* A frame of ours as destination only inside the arena. */
            if (!(cp->flags & GNTCOPY_dest_gref))
                cp->dest.u.gmfn = safe_pfn();
            else
                cp->dest.u.ref = (uint32_t)(chance(70) ? rnd_below(64) : rnd());
            cp->source.offset = (uint16_t)(chance(70) ? rnd_below(4096) : rnd());
            cp->dest.offset = (uint16_t)(chance(70) ? rnd_below(4096) : rnd());
            cp->len = (uint16_t)(chance(70) ? rnd_below(4097) : rnd());
        } else if (cmd == GNTTABOP_setup_table) {
            struct gnttab_setup_table *st = (struct gnttab_setup_table *)op;
            st->dom = rnd_domid();
            st->nr_frames = (uint32_t)(chance(70) ? rnd_below(40) : rnd_count());
            st->frame_list.q = wptr();
        } else if (cmd == GNTTABOP_map_grant_ref) {
            struct gnttab_map_grant_ref *m = (struct gnttab_map_grant_ref *)op;
            m->dom = rnd_domid();
            m->ref = (uint32_t)(chance(70) ? rnd_below(64) : rnd());
            /* host_addr: half inside our RAM (kxend must refuse it: a neighbour's page
             * mapped there would overwrite our code or stack), half random. One that lands
             * outside RAM only adds a page no code of ours touches. */
            m->host_addr = chance(50) ? (safe_pfn() << 12) : rnd();
        } else if (cmd == GNTTABOP_query_size || cmd == GNTTABOP_get_version) {
            *(domid_t *)op = rnd_domid();
        }
    }
    /* A long batch runs forward from the slot through the rest of RAM: kxend writes each
     * record's status, which only the arena and the special pages may take. */
    if (n < c->a[2] && (cmd == GNTTABOP_copy || cmd == GNTTABOP_map_grant_ref ||
                        cmd == GNTTABOP_unmap_grant_ref || cmd == GNTTABOP_setup_table))
        c->a[1] = chance(50) ? plan.arena_end + 64 * rnd_below(4) : plan.ram_end - 24;
}

bool build_call(struct call *c)
{
    static const uint64_t known[] = {
        __HYPERVISOR_xen_version,  __HYPERVISOR_console_io,       __HYPERVISOR_sched_op,
        __HYPERVISOR_set_timer_op, __HYPERVISOR_memory_op,        __HYPERVISOR_hvm_op,
        __HYPERVISOR_vcpu_op,      __HYPERVISOR_event_channel_op, __HYPERVISOR_grant_table_op};
    *c = (struct call){0};
    uint64_t r = rnd_below(100);
    if (r < 75)
        c->nr = known[rnd_below(ARRAY_SIZE(known))];
    else if (r < 90)
        c->nr = rnd_below(64);
    else if (r < 96)
        c->nr = 64 + rnd_below(64);
    else
        c->nr = chance(50) ? rnd() | (1ull << 12) : 128 + rnd_below(1024), c->raw = true;
    for (int i = 0; i < 5; i++)
        c->a[i] = chance(50) ? rnd_count() : rptr();
    switch (c->nr) {
    case __HYPERVISOR_xen_version:
        fam_version(c);
        break;
    case __HYPERVISOR_console_io:
        fam_console(c);
        break;
    case __HYPERVISOR_sched_op:
        return fam_sched(c);
    case __HYPERVISOR_set_timer_op:
        c->a[0] = chance(50) ? monotonic_ns() + rnd_below(5000000) : rnd_count();
        break;
    case __HYPERVISOR_memory_op:
        fam_memory(c);
        break;
    case __HYPERVISOR_hvm_op:
        fam_hvm(c);
        break;
    case __HYPERVISOR_vcpu_op:
        return fam_vcpu(c);
    case __HYPERVISOR_event_channel_op:
        fam_evtchn(c);
        break;
    case __HYPERVISOR_grant_table_op:
        fam_gnttab(c);
        break;
    default:
        c->sub = 0;
        /* An unimplemented number (or sched_op_compat etc.): raw garbage in every register. */
        if (c->nr == __HYPERVISOR_sched_op_compat && (c->a[0] == 2 || c->a[0] == 1))
            c->a[0] = 0;
        break;
    }
    return true;
}
