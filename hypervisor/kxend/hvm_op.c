/* __HYPERVISOR_hvm_op: HVM parameters (the callback vector among them), the per-vCPU upcall
 * vector, and get_time. Guests may read but never set their store/console parameters: those
 * belong to the toolstack. */
#include <errno.h>

#include <kxen/hvm/hvm_op.h>
#include <kxen/hvm/params.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/log.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"

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
                /* A GSI or INTx via is only recorded, never delivered (no emulated interrupt
                 * controller), and leaves the per-vCPU vectors alone. Linux writes GSI 1
                 * after HVMOP_set_evtchn_upcall_vector to make toolstacks see it as
                 * enlightened; it then relies on the per-vCPU vectors. Without those (a
                 * guest with no LAPIC) the via would silently deliver nothing: refused. */
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
