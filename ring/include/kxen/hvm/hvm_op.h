/* HYPERVISOR_hvm_op(cmd, arg): the subset kxen implements. Xen's numbers and layouts (checked
 * by ring/tests); kxen's text. */
#ifndef KXEN_HVM_HVM_OP_H
#define KXEN_HVM_HVM_OP_H

#include <kxen/xen.h>

#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVMOP_pagetable_dying 9
#define HVMOP_get_time 10
#define HVMOP_set_evtchn_upcall_vector 23

/* index = HVM_PARAM_*; domid may be DOMID_SELF. */
struct xen_hvm_param {
    domid_t domid;
    uint16_t pad;
    uint32_t index;
    uint64_t value;
};
typedef struct xen_hvm_param xen_hvm_param_t;
DEFINE_XEN_GUEST_HANDLE(xen_hvm_param_t);

struct xen_hvm_pagetable_dying {
    domid_t domid;
    uint16_t pad[3];
    uint64_t gpa;
};
typedef struct xen_hvm_pagetable_dying xen_hvm_pagetable_dying_t;

struct xen_hvm_get_time {
    uint64_t now; /* out: system time in ns */
};
typedef struct xen_hvm_get_time xen_hvm_get_time_t;

/* Per-vCPU upcall vector; takes precedence over HVM_PARAM_CALLBACK_IRQ for that vCPU. */
struct xen_hvm_evtchn_upcall_vector {
    uint32_t vcpu;
    uint8_t vector;
};
typedef struct xen_hvm_evtchn_upcall_vector xen_hvm_evtchn_upcall_vector_t;

#endif
