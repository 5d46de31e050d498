/* savetest's PV devices (devices.c): a disk whose contents must survive every save, restore
 * and migration, with a write in flight across each suspend, and a vif that exchanges frames
 * with an echoing peer (nettest's `pair b`) before and after. */
#ifndef GUESTS_SAVETEST_DEVICES_H
#define GUESTS_SAVETEST_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

/* Connects the first vbd (disk) and vif 0 (vif), writes and checks the first region, exchanges
 * the first frames. Prints what it did; false when a device failed. */
bool devices_start(bool disk, bool vif, bool persistent);
/* The vif's MAC once it connected, else NULL. */
const uint8_t *devices_vif_mac(void);
/* With `readback`: the disk gets 4 regions at the start, and each call has the backend read
 * one of them into the next of 8 buffers, a different region each time round; after every
 * resume each buffer must hold the region last read into it (one check line), so a backend
 * write into guest memory that a migration missed shows up. */
void devices_readback_enable(void);
void devices_readback_step(void);
/* Just before the suspend call: queues the next region's write and does not wait for it. */
void devices_before_suspend(void);
/* After the suspend call returned (resumed or cancelled): the queued write completed, every
 * region written so far reads back, the vif exchanges frames again. Prints one line per
 * check: "savetest: check ok - WHAT" or "savetest: check FAILED - WHAT". */
void devices_after_resume(void);

/* With `io`: one write and read-back of the disk per tick (devices.c). */
void devices_tick(void);
/* With `net` (before devices_start): the vif follows a backend that restarts, its first
 * exchange is left out, and each tick is one frame's round trip to a peer doing the same
 * (each echoes the other's frames). */
void devices_net_mode(void);
void devices_tick_net(void);

#endif
