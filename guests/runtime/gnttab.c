/* Grant table v1: table frames in our image, a bitmap of refs in use. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/memory.h>

#include "guest/gnttab.h"
#include "guest/hypercall.h"
#include "guest/lib.h"

static grant_entry_v1_t table[GNTTAB_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t in_use[GNTTAB_ENTRIES / 64];

grant_entry_v1_t *gnttab_entries(void)
{
    return table;
}

int gnttab_init(void)
{
    for (unsigned i = 0; i < GNTTAB_FRAMES; i++) {
        struct xen_add_to_physmap xatp = {
            .domid = DOMID_SELF,
            .space = XENMAPSPACE_grant_table,
            .idx = i,
            .gpfn = ((uintptr_t)table >> PAGE_SHIFT) + i,
        };
        long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
        if (rc)
            return (int)rc;
    }
    for (unsigned r = 0; r < GNTTAB_NR_RESERVED_ENTRIES; r++)
        in_use[r / 64] |= 1ULL << (r % 64);
    return 0;
}

int gnttab_grant_access(domid_t domid, unsigned long frame, bool readonly, grant_ref_t *ref)
{
    if (domid >= DOMID_FIRST_RESERVED || frame > UINT32_MAX) /* v1 entries hold 32 bits */
        return -XEN_EINVAL;
    for (grant_ref_t r = GNTTAB_NR_RESERVED_ENTRIES; r < GNTTAB_ENTRIES; r++) {
        if (in_use[r / 64] == UINT64_MAX) { /* a full word: skip its 64 refs at once */
            r |= 63;
            continue;
        }
        if (in_use[r / 64] & (1ULL << (r % 64)))
            continue;
        in_use[r / 64] |= 1ULL << (r % 64);
        table[r].frame = (uint32_t)frame;
        table[r].domid = domid;
        wmb();
        WRITE_ONCE(table[r].flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)));
        *ref = r;
        return 0;
    }
    return -XEN_ENOSPC;
}

int gnttab_end_access(grant_ref_t ref)
{
    if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= GNTTAB_ENTRIES ||
        !(in_use[ref / 64] & (1ULL << (ref % 64))))
        return -XEN_EINVAL;
    /* Clear flags only if the peer is not using the grant; the hypervisor sets
     * GTF_reading/GTF_writing with a compare-and-swap on the same word. */
    uint16_t flags = READ_ONCE(table[ref].flags);
    do {
        if (flags & (GTF_reading | GTF_writing))
            return -XEN_EBUSY;
    } while (!__atomic_compare_exchange_n(&table[ref].flags, &flags, 0, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    in_use[ref / 64] &= ~(1ULL << (ref % 64));
    return 0;
}

int gnttab_forget(grant_ref_t ref)
{
    if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= GNTTAB_ENTRIES ||
        !(in_use[ref / 64] & (1ULL << (ref % 64))))
        return -XEN_EINVAL;
    WRITE_ONCE(table[ref].flags, 0);
    in_use[ref / 64] &= ~(1ULL << (ref % 64));
    return 0;
}
