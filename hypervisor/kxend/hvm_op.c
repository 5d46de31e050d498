/* __HYPERVISOR_hvm_op: HVM parameters (the callback vector among them), the per-vCPU upcall
 * vector, and get_time. Guests may read but never set their store/console parameters: those
 * belong to the toolstack.
 * The event-channel callback reaches a vCPU as its per-vCPU vector (HVMOP_set_evtchn_upcall_
 * vector, or HVM_PARAM_CALLBACK_IRQ's vector form for all of them, sent by the accelerator)
 * or, for a guest that has no vector (Linux booted with xen_no_vector_callback), as an
 * interrupt line: HVM_PARAM_CALLBACK_IRQ's GSI form, or its PCI INTx form naming the Xen
 * platform device. As in Xen, the line follows vCPU 0's evtchn_upcall_pending alone and is
 * level-triggered: raised while it is set, lowered once the guest has cleared it. A vector,
 * where one is set, wins over the line. */
#include <errno.h>

#include <kxen/hvm/hvm_op.h>
#include <kxen/hvm/params.h>
#include <kxen/xen.h>

#include "hvm_internal.h"
#include "kxen/log.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"
#include "kxend/irq.h"

/* How soon vCPU 0's thread looks again at an upcall that holds the line raised. With KVM's
 * in-kernel PIC and IOAPIC the guest's EOI never exits to kxend, and a level line still high
 * after the guest's handler cleared evtchn_upcall_pending interrupts it again at once: the
 * line must come down soon after, not at the next unrelated exit. */
#define CALLBACK_LINE_RECHECK_NS (1000 * 1000ull)

static bool toolstack_only(uint32_t index)
{
    return index == HVM_PARAM_STORE_PFN || index == HVM_PARAM_STORE_EVTCHN ||
           index == HVM_PARAM_CONSOLE_PFN || index == HVM_PARAM_CONSOLE_EVTCHN;
}

/* Applies a parameter's side effects; shared with the control socket (toolstack). */
int hvm_param_apply(struct domain *d, uint32_t index, uint64_t value)
{
    if (index >= KXEN_HVM_NR_PARAMS)
        return -EINVAL;
    if (index == HVM_PARAM_CALLBACK_IRQ) {
        unsigned type = KXEN_HVM_CALLBACK_TYPE(value);
        uint8_t vec = 0;
        if (value != 0) {
            if (type != HVM_PARAM_CALLBACK_TYPE_VECTOR) {
                /* A GSI or INTx via leaves the per-vCPU vectors alone: Linux writes GSI 1
                 * after HVMOP_set_evtchn_upcall_vector to make toolstacks see it as
                 * enlightened and then relies on the vectors, which win over the line
                 * (hvm_callback_line_sync). A domain without a LAPIC (PVH without one) has
                 * no interrupt controller either, where the via would deliver nothing:
                 * refused. */
                if (type > HVM_PARAM_CALLBACK_TYPE_PCI_INTX || !d->vcpus[0]->boot.lapic)
                    return -EINVAL;
                d->hvm_params[index] = value;
                return 0;
            }
            if ((value & 0xff) < 0x10 || (value & 0x00ffffffffffff00ull))
                return -EINVAL;
            vec = (uint8_t)(value & 0xff);
        }
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            d->vcpus[i]->upcall_vector = vec;
    }
    d->hvm_params[index] = value;
    return 0;
}

int hvm_callback_intx_offer(struct domain *d, unsigned devfn, void (*set)(void *opaque, bool level),
                            void *opaque)
{
    struct hvm_domain *h = d->hvm;
    if (!h)
        return -ENODEV;
    h->platform_intx = set;
    h->platform_opaque = opaque;
    h->platform_devfn = devfn;
    return 0;
}

/* A GSI the machine has, or INTA of the platform device on bus 0 of segment 0. */
static bool callback_is_line(const struct hvm_domain *h, uint64_t via)
{
    uint64_t arg = via & ~HVM_PARAM_CALLBACK_IRQ_TYPE_MASK;
    switch (KXEN_HVM_CALLBACK_TYPE(via)) {
    case HVM_PARAM_CALLBACK_TYPE_GSI:
        return arg != 0 && arg < KXEN_NR_GSIS; /* buggy or malicious guest: no such line */
    case HVM_PARAM_CALLBACK_TYPE_PCI_INTX:
        return h->platform_intx && (arg >> 16) == 0 && ((arg >> 8) & 0xff) == h->platform_devfn &&
               (arg & 3) == 0;
    default:
        return false;
    }
}

static void callback_line_set(struct domain *d, uint64_t via, bool level)
{
    struct hvm_domain *h = d->hvm;
    if (KXEN_HVM_CALLBACK_TYPE(via) == HVM_PARAM_CALLBACK_TYPE_GSI)
        domain_irq_set_level(d, (unsigned)(via & 0xff), level);
    else if (h->platform_intx)
        h->platform_intx(h->platform_opaque, level);
}

void hvm_callback_line_sync(struct vcpu *v, bool pending)
{
    struct domain *d = v->dom;
    struct hvm_domain *h = d->hvm;
    if (!h || v->id != 0)
        return; /* Xen's rule: the line carries vCPU 0's events only */
    uint64_t via = __atomic_load_n(&d->hvm_params[HVM_PARAM_CALLBACK_IRQ], __ATOMIC_RELAXED);
    bool raise = pending && !v->upcall_vector && callback_is_line(h, via);
    if (h->callback_raised && (!raise || h->callback_raised != via)) {
        callback_line_set(d, h->callback_raised, false);
        h->callback_raised = 0;
    }
    v->callback_line_recheck_ns = 0;
    if (!raise)
        return;
    /* Raised on every entry while pending, not only when it changes: a PCI function whose
     * INTx shares the GSI lowers the same line when its own interrupt ends. */
    callback_line_set(d, via, true);
    h->callback_raised = via;
    v->callback_line_recheck_ns = kxen_system_time_ns() + CALLBACK_LINE_RECHECK_NS;
}

static int64_t param_op(struct vcpu *v, bool set, uint64_t arg)
{
    struct xen_hvm_param p;
    if (copy_from_guest(v, &p, arg, sizeof(p)))
        return -EFAULT;
    if (p.index >= HVM_NR_PARAMS || p.index >= KXEN_HVM_NR_PARAMS)
        return -EINVAL;
    struct domain *d = v->dom;
    if (p.domid != DOMID_SELF && p.domid != d->domid) {
        /* Xen's order: unknown domain -ESRCH first, then the privilege check. */
        if (p.domid == 0)
            return -EPERM;
        struct domain *t = domain_get(p.domid);
        if (!t)
            return -ESRCH;
        if (!d->privileged) {
            domain_put(t);
            return -EPERM;
        }
        d = t;
    } else {
        atomic_fetch_add(&d->refs, 1);
    }
    int64_t rc = 0;
    if (set) {
        if (d == v->dom && toolstack_only(p.index))
            rc = -EPERM;
        else
            rc = hvm_param_apply(d, p.index, p.value);
    } else {
        p.value = d->hvm_params[p.index];
        rc = copy_to_guest(v, arg, &p, sizeof(p));
    }
    domain_put(d);
    return rc;
}

static int64_t do_hvm_op(struct vcpu *v, const uint64_t a[5])
{
    switch (a[0]) {
    case HVMOP_set_param:
        return param_op(v, true, a[1]);
    case HVMOP_get_param:
        return param_op(v, false, a[1]);
    case HVMOP_get_time: {
        struct xen_hvm_get_time t = {.now = domain_time_ns(v->dom)};
        return copy_to_guest(v, a[1], &t, sizeof(t));
    }
    case HVMOP_set_evtchn_upcall_vector: {
        struct xen_hvm_evtchn_upcall_vector u;
        if (copy_from_guest(v, &u, a[1], sizeof(u)))
            return -EFAULT;
        if (u.vector < 0x10)
            return -EINVAL;
        if (u.vcpu >= v->dom->nr_vcpus)
            return -ENOENT;
        v->dom->vcpus[u.vcpu]->upcall_vector = u.vector;
        return 0;
    }
    case HVMOP_pagetable_dying:
        return 0;
    default:
        return -ENOSYS;
    }
}

static const struct hypercall_family hc_hvm_op = {__HYPERVISOR_hvm_op, "hvm_op", do_hvm_op};
HYPERCALL_REGISTER(hc_hvm_op);
