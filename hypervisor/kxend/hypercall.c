/* The hypercall table: Xen's numbers to family handlers. Unknown numbers get -ENOSYS. The
 * accelerators pass Xen's x86-64 convention (nr in rax; rdi, rsi, rdx, r10, r8). */
#include <errno.h>
#include <stddef.h>

#include <kxen/xen.h>

#include "core.h"
#include "kxend/evtchn.h"
#include "kxend/gnttab.h"
#include "kxend/hypercall.h"

HYPERCALL_FAMILY(hc_xen_version);
HYPERCALL_FAMILY(hc_console_io);
HYPERCALL_FAMILY(hc_sched_op);
HYPERCALL_FAMILY(hc_set_timer_op);
HYPERCALL_FAMILY(hc_memory_op);
HYPERCALL_FAMILY(hc_hvm_op);
HYPERCALL_FAMILY(hc_vcpu_op);

static const struct hypercall_family *const families[] = {
    &hc_xen_version, &hc_console_io, &hc_sched_op,         &hc_set_timer_op,   &hc_memory_op,
    &hc_hvm_op,      &hc_vcpu_op,    &hc_event_channel_op, &hc_grant_table_op,
};

#define NR_HYPERCALLS 64
static const struct hypercall_family *table[NR_HYPERCALLS];

static void table_init(void)
{
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (families[i]->fn && families[i]->nr < NR_HYPERCALLS)
            table[families[i]->nr] = families[i];
}

const char *hypercall_name(unsigned nr)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, table_init);
    return nr < NR_HYPERCALLS && table[nr] ? table[nr]->name : NULL;
}

int64_t hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5])
{
    if (!hypercall_name(nr < NR_HYPERCALLS ? (unsigned)nr : NR_HYPERCALLS))
        return -ENOSYS;
    return table[nr]->fn(v, args);
}
