/* The balloon in the save stream (KXEN_SREC_BALLOON): which pages the guest gave back with
 * XENMEM_decrease_reservation, as runs of pfns. On load they are marked given back again and
 * punched out of the new memfd, so the restored domain holds what it held before (xl list,
 * XENMEM_current_reservation) and only those pages can be populated again. The pages' zeros
 * travel as pages without data and are never written on the destination. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "kxend/domain.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

#define MAX_RUNS ((KXEN_CTL_MAX_PAYLOAD / 2) / sizeof(struct kxen_srec_balloon_run))

static int balloon_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    uint64_t pages = d->ram_size >> KXEN_PAGE_SHIFT;
    struct kxen_srec_balloon_run *runs = NULL;
    uint32_t n = 0, cap = 0;
    int rc = 0;
    pthread_mutex_lock(&d->lock);
    for (uint64_t p = 0; d->ballooned && d->nr_ballooned && p < pages && rc == 0; p++) {
        if (!(d->ballooned[p / 64] & (1ull << (p % 64))))
            continue;
        if (n && runs[n - 1].first_pfn + runs[n - 1].count == p) {
            runs[n - 1].count++;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct kxen_srec_balloon_run *r =
                cap <= MAX_RUNS ? realloc(runs, cap * sizeof(*r)) : NULL;
            if (!r) {
                rc = -ENOSPC; /* too fragmented for one state blob */
                break;
            }
            runs = r;
        }
        runs[n++] = (struct kxen_srec_balloon_run){p, 1};
    }
    pthread_mutex_unlock(&d->lock);
    if (rc == 0 && n)
        rc = kxend_save_put(ctx, KXEN_SREC_BALLOON, 0, runs, n * (uint32_t)sizeof(*runs));
    free(runs);
    return rc;
}

static int balloon_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct kxen_srec_balloon_run *runs = malloc(KXEN_CTL_MAX_PAYLOAD);
    if (!runs)
        return -ENOMEM;
    int len = kxend_save_get(ctx, KXEN_SREC_BALLOON, 0, runs, KXEN_CTL_MAX_PAYLOAD);
    uint64_t pages = d->ram_size >> KXEN_PAGE_SHIFT;
    int rc = len == -ENOENT ? 0 : len < 0 || len % (int)sizeof(*runs) ? -EINVAL : 0;
    uint32_t n = rc == 0 && len > 0 ? (uint32_t)len / sizeof(*runs) : 0;
    /* Buggy or malicious stream: every run inside RAM, no wrap. */
    for (uint32_t i = 0; i < n && rc == 0; i++)
        if (!runs[i].count || runs[i].first_pfn >= pages ||
            runs[i].count > pages - runs[i].first_pfn)
            rc = -EINVAL;
    pthread_mutex_lock(&d->lock);
    if (rc == 0 && n && !d->ballooned && !(d->ballooned = calloc(pages / 64 + 1, sizeof(uint64_t))))
        rc = -ENOMEM;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)(runs[i].first_pfn << KXEN_PAGE_SHIFT),
                      (off_t)(runs[i].count << KXEN_PAGE_SHIFT)) < 0) {
            rc = -errno;
            break;
        }
        for (uint64_t p = runs[i].first_pfn; p < runs[i].first_pfn + runs[i].count; p++)
            if (!(d->ballooned[p / 64] & (1ull << (p % 64)))) {
                d->ballooned[p / 64] |= 1ull << (p % 64);
                d->nr_ballooned++;
            }
    }
    pthread_mutex_unlock(&d->lock);
    free(runs);
    return rc;
}

static const struct domain_subsys balloon_state_subsys = {
    .name = "balloon-state",
    .order = SUBSYS_ORDER_MEMORY,
    .save = balloon_save,
    .load = balloon_load,
};
DOMAIN_SUBSYS_REGISTER(balloon_state_subsys);
