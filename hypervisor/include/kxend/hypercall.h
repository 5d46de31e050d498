/* Hypercall families: each family file (xen_version.c, sched_op.c, evtchn.c, gnttab.c, ...)
 * registers one struct hypercall_family per Xen hypercall number with HYPERCALL_REGISTER();
 * hypercall.c builds the number-indexed table from the registrations and never names a
 * family. Unregistered numbers return -ENOSYS as Xen does. */
#ifndef KXEND_HYPERCALL_H
#define KXEND_HYPERCALL_H

#include <stddef.h>
#include <stdint.h>

#include "kxend/domain.h"
#include "kxend/registry.h"

typedef int64_t (*hypercall_fn)(struct vcpu *v, const uint64_t args[5]);

struct hypercall_family {
    unsigned nr; /* __HYPERVISOR_* */
    const char *name;
    hypercall_fn fn;
};

#define HYPERCALL_REGISTER(var) KXEND_REGISTER(kxend_hypercalls, struct hypercall_family, var)
KXEND_SECTION_DECLARE(kxend_hypercalls, struct hypercall_family);

/* Size of the dispatch table: every __HYPERVISOR_* number kxend may implement is below it. */
#define KXEN_NR_HYPERCALLS 64

/* Fills table[0..nr_table) from families[0..nr_families): table[f->nr] = f. Two families with
 * one number, or a number >= nr_table, is a registration error: logged with the names
 * involved, -EEXIST or -ERANGE returned (table then holds the entries placed before it). */
int hypercall_table_build(const struct hypercall_family *const *families, size_t nr_families,
                          const struct hypercall_family **table, size_t nr_table);

/* Builds kxend's table from the registrations (once); 0 or the build's error. Called at
 * start-up so that a registration conflict stops kxend before it serves anyone. */
int hypercall_table_init(void);

#endif
