/* The balloon driver (guest/balloon.h). Invariant: the pages given back are exactly
 * [top_pfn - nr_out, top_pfn), all above floor_pfn (the end of the image), so that populating
 * takes back the lowest of them first and the set stays one range. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/memory.h>
#include <kxen/xen.h>

#include "guest/balloon.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/runtime.h"
#include "guest/xenbus.h"

#define PAGE_SHIFT 12
#define BATCH 256 /* frames per hypercall, as Linux's balloon batches them */

static uint64_t top_pfn, floor_pfn, nr_out, boot_pages;
static xen_pfn_t frames[BATCH];

extern char __image_end[];

int balloon_init(void)
{
    /* The highest RAM range of the map; the balloon takes pages from its top down. */
    uint64_t start = 0;
    for (unsigned i = 0; i < boot_info.nr_memmap; i++) {
        const struct boot_memmap_entry *e = &boot_info.memmap[i];
        if (e->type == 1 && (e->addr + e->size) >> PAGE_SHIFT > top_pfn) {
            top_pfn = (e->addr + e->size) >> PAGE_SHIFT;
            start = e->addr;
        }
    }
    uint64_t image_end = ((uintptr_t)__image_end + (1u << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
    floor_pfn = start >> PAGE_SHIFT > image_end ? start >> PAGE_SHIFT : image_end;
    domid_t self = DOMID_SELF;
    long pages = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    if (pages <= 0)
        return pages < 0 ? (int)pages : -XEN_EINVAL;
    boot_pages = (uint64_t)pages;
    return xenbus_watch("memory/target", BALLOON_WATCH_TOKEN, 0, 0);
}

uint64_t balloon_current_kb(void)
{
    return (boot_pages - nr_out) << (PAGE_SHIFT - 10);
}

/* n consecutive frames from first: decrease or populate. Returns frames done or -errno. */
static long batch(unsigned cmd, uint64_t first, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        frames[i] = first + i;
    struct xen_memory_reservation r = {.nr_extents = n, .extent_order = 0, .domid = DOMID_SELF};
    set_xen_guest_handle(r.extent_start, frames);
    return HYPERVISOR_memory_op(cmd, &r);
}

static void balloon_to(uint64_t want)
{
    uint64_t held = boot_pages - nr_out;
    while (held > want) {
        uint64_t room = top_pfn - nr_out - floor_pfn, n = held - want;
        n = n < BATCH ? n : BATCH;
        n = n < room ? n : room;
        if (n == 0)
            break; /* only the image is left */
        long done = batch(XENMEM_decrease_reservation, top_pfn - nr_out - n, (unsigned)n);
        if (done <= 0)
            break;
        nr_out += (uint64_t)done;
        held -= (uint64_t)done;
    }
    while (held < want && nr_out) {
        uint64_t n = want - held;
        n = n < BATCH ? n : BATCH;
        n = n < nr_out ? n : nr_out;
        long done = batch(XENMEM_populate_physmap, top_pfn - nr_out, (unsigned)n);
        if (done <= 0)
            break; /* the hypervisor's maximum: xl mem-max */
        nr_out -= (uint64_t)done;
        held += (uint64_t)done;
    }
}

int64_t balloon_update(void)
{
    char value[32];
    int rc = xenbus_read(XBT_NIL, "memory/target", value, sizeof(value));
    if (rc < 0)
        return rc;
    uint64_t kb = 0;
    for (const char *p = value; *p >= '0' && *p <= '9'; p++)
        kb = kb * 10 + (uint64_t)(*p - '0');
    if (kb)
        balloon_to(kb >> (PAGE_SHIFT - 10));
    return (int64_t)balloon_current_kb();
}
