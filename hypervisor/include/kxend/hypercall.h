/* Hypercall families register in one table indexed by hypercall number (one file per family:
 * xen_version.c, sched_op.c, evtchn.c, gnttab.c, ...). Unregistered numbers return
 * -ENOSYS as Xen does. */
#ifndef KXEND_HYPERCALL_H
#define KXEND_HYPERCALL_H

#include <stdint.h>

#include "kxend/domain.h"

typedef int64_t (*hypercall_fn)(struct vcpu *v, const uint64_t args[5]);

struct hypercall_family {
    unsigned nr; /* __HYPERVISOR_* */
    const char *name;
    hypercall_fn fn;
};

/* Each family file defines one struct hypercall_family and lists it in hypercall.c's
 * table (the core never names a family's internals). */
#define HYPERCALL_FAMILY(sym) extern const struct hypercall_family sym

#endif
