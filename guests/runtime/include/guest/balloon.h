/* The balloon driver, as Linux's xen-balloon: the toolstack writes the memory the domain should
 * hold to memory/target (KiB); the guest gives pages back with XENMEM_decrease_reservation or
 * takes them again with XENMEM_populate_physmap until it holds that much (or the hypervisor's
 * maximum stops it). The runtime has no page allocator, so the pages given back are the
 * highest RAM pages, never the guest image: a program that uses RAM beyond its image does not
 * run the balloon. */
#ifndef GUEST_BALLOON_H
#define GUEST_BALLOON_H

#include <stdint.h>

/* The token of the memory/target watch: the program's watch loop passes events with this
 * token to balloon_update(). */
#define BALLOON_WATCH_TOKEN "balloon"

/* Measures what the domain holds and watches memory/target. 0 or a negative errno. */
int balloon_init(void);
/* Reads memory/target and balloons towards it. Returns the KiB the domain holds now, or a
 * negative errno when the target cannot be read. */
int64_t balloon_update(void);
/* What the domain holds now, in KiB. */
uint64_t balloon_current_kb(void);

#endif
