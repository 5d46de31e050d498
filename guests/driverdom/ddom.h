/* The driver domain's parts that meet in main.c: its C library's hooks (libc.c), the storage
 * blkback serves (storage_mem.c: memory; storage_vbd.c: its own PV disk) and the heap's size. */
#ifndef DDOM_DDOM_H
#define DDOM_DDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../drivers/block/storage.h"

#define DDOM_HEAP_BYTES (64ul << 20)

/* True when an eventfd has a count (work a backend left for its next poll). */
bool ddom_fds_ready(void);
size_t ddom_heap_used(void);

/* What the storages served, for the loop's report. */
struct ddom_blk_stats {
    uint64_t reads, writes, read_bytes, write_bytes;
};
extern struct ddom_blk_stats ddom_blk_stats;
void ddom_count_io(const struct storage_io *io);

/* blkback's open_storage: `params` names the storage. "mem:SIZE[:NAME]" is a disk in memory
 * (SIZE in bytes with an optional K, M or G suffix), kept by NAME (default: the whole
 * params) across reconnects; "vbd:DEVID" is this domain's own PV disk device/vbd/DEVID. */
int ddom_open_storage(void *ctx, const char *params, bool readonly, unsigned int nr_workers,
                      struct storage **out);
int ddom_storage_mem_open(const char *spec, bool readonly, struct storage **out);
int ddom_storage_vbd_open(const char *spec, bool readonly, struct storage **out);

#endif
