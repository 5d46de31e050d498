/* The grant table in the save stream (KXEN_SREC_GNTTAB): which guest pages are the grant
 * frames. The entries themselves live in those pages and travel with guest RAM. Pins and
 * maps are not state to carry: save runs with the domain paused, and a backend that still
 * maps a grant re-maps it on the destination when its frontend reconnects. */
#include <errno.h>
#include <string.h>

#include "gnttab_internal.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

_Static_assert(KXEN_GNTTAB_MAX_FRAMES <= 64, "kxen_srec_gnttab holds 64 frames");

static int gnttab_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct kxen_srec_gnttab r = {0};
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    if (gt) {
        r.frame_set = gt->frame_set;
        r.nr_frames = gt->nr_frames;
        memcpy(r.frames, gt->frames, sizeof(gt->frames));
    }
    pthread_mutex_unlock(&gnttab_lock);
    return kxend_save_put(ctx, KXEN_SREC_GNTTAB, 0, &r, sizeof(r));
}

/* The entries travel with guest RAM still marked in use (GTF_reading/GTF_writing) by the
 * source's backends, whose maps are gone. Left set, the guest's frontends could never end
 * those grants on resume (Linux: "g.e. ... still pending", the pages leaked); a backend that
 * maps a grant again sets them again. */
static void clear_in_use(struct domain *d)
{
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = d->gnttab;
    uint32_t n = gt ? gt->nr_frames * KXEN_GNTTAB_ENTRIES_PER_FRAME : 0;
    for (uint32_t ref = 0; ref < n; ref++) {
        if (!(gt->frame_set & (1u << (ref / KXEN_GNTTAB_ENTRIES_PER_FRAME))))
            continue;
        uint64_t *e = gnttab_entry_ptr(gt, ref);
        if (e && (*(uint16_t *)e & GTF_type_mask) == GTF_permit_access)
            __atomic_fetch_and((uint16_t *)e, (uint16_t) ~(GTF_reading | GTF_writing),
                               __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&gnttab_lock);
}

static int gnttab_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct kxen_srec_gnttab r;
    int len = kxend_save_get(ctx, KXEN_SREC_GNTTAB, 0, &r, sizeof(r));
    if (len == -ENOENT)
        return 0;
    if (len != sizeof(r) || r.nr_frames > KXEN_GNTTAB_MAX_FRAMES)
        return -EINVAL;
    for (unsigned i = 0; i < KXEN_GNTTAB_MAX_FRAMES; i++) {
        if (!(r.frame_set & (1u << i)))
            continue;
        int rc = gnttab_set_frame(d, i, r.frames[i]); /* checks the frame lies in RAM */
        if (rc < 0)
            return rc;
    }
    clear_in_use(d);
    return 0;
}

/* The state half of the gnttab subsystem registers on its own, at the same order, so the
 * subsystem's file and its tests stay free of the stream code. */
static const struct domain_subsys gnttab_state_subsys = {
    .name = "gnttab-state",
    .order = SUBSYS_ORDER_MEMORY,
    .save = gnttab_save,
    .load = gnttab_load,
};
DOMAIN_SUBSYS_REGISTER(gnttab_state_subsys);
