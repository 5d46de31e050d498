/* The hypercall table: Xen's numbers to the registered family handlers (kxend/hypercall.h).
 * Unknown numbers get -ENOSYS. The accelerators pass Xen's x86-64 convention (nr in rax; rdi,
 * rsi, rdx, r10, r8). */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#include "core.h"
#include "kxen/log.h"
#include "kxend/hypercall.h"

static const struct hypercall_family *table[KXEN_NR_HYPERCALLS];
static int table_rc;

int hypercall_table_build(const struct hypercall_family *const *families, size_t nr_families,
                          const struct hypercall_family **tbl, size_t nr_table)
{
    for (size_t i = 0; i < nr_table; i++)
        tbl[i] = NULL;
    for (size_t i = 0; i < nr_families; i++) {
        const struct hypercall_family *f = families[i];
        if (f->nr >= nr_table) {
            log_err("hypercall family %s: number %u is outside the table (< %zu)", f->name, f->nr,
                    nr_table);
            return -ERANGE;
        }
        if (tbl[f->nr]) {
            log_err("hypercall families %s and %s both register number %u", tbl[f->nr]->name,
                    f->name, f->nr);
            return -EEXIST;
        }
        tbl[f->nr] = f;
    }
    return 0;
}

static void table_init_once(void)
{
    table_rc = hypercall_table_build(
        __start_kxend_hypercalls, KXEND_SECTION_COUNT(kxend_hypercalls), table, KXEN_NR_HYPERCALLS);
}

int hypercall_table_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, table_init_once);
    return table_rc;
}

const char *hypercall_name(unsigned nr)
{
    hypercall_table_init();
    return nr < KXEN_NR_HYPERCALLS && table[nr] ? table[nr]->name : NULL;
}

int64_t hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5])
{
    hypercall_table_init();
    if (nr >= KXEN_NR_HYPERCALLS || !table[nr] || !table[nr]->fn)
        return -ENOSYS;
    return table[nr]->fn(v, args);
}
