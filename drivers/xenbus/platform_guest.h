/* The platform of a backend that runs inside a guest (a driver domain), over the guest
 * runtime: event channels bound with EVTCHNOP_bind_interdomain, grants mapped with
 * GNTTABOP_map_grant_ref at guest-physical addresses above RAM (a window of
 * XENBUS_GUEST_MAP_PAGES pages at XENBUS_GUEST_MAP_BASE), copies with GNTTABOP_copy, and the
 * runtime's xenstore client. Built only into guest images (with the driver domain's C
 * library).
 *
 * Several backends share the guest's one xenstore connection and event-channel space: each
 * opens its own platform with a distinct tag; the tag prefixes its watch tokens, so watch
 * events and fired ports reach only the platform that asked for them. */
#ifndef KXEN_DRIVERS_XENBUS_PLATFORM_GUEST_H
#define KXEN_DRIVERS_XENBUS_PLATFORM_GUEST_H

#include <stdbool.h>

#include "platform.h"

#define XENBUS_GUEST_MAP_BASE 0x80000000ull
#define XENBUS_GUEST_MAP_PAGES 4096u
#define XENBUS_GUEST_MAX_PLATFORMS 4

/* tag: a short name without '|' ("vbd", "vif"). Returns NULL with errno set. */
struct xenbus_platform *xenbus_platform_guest_open(const char *tag);
/* True when a platform has work: a port fired or a watch event is queued (checked with
 * interrupts off by the loop's wait, so it must not block). */
bool xenbus_platform_guest_pending(void);
/* Grant pages mapped now, over all platforms (tests and the loop's report). */
unsigned int xenbus_platform_guest_mapped(void);

#endif
