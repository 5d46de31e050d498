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
