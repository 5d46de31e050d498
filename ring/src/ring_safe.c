/* Request/response ring consumers that survive a hostile peer. See kxen/ring_safe.h. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <kxen/ring_safe.h>

/* Offset of the slot array in every struct *_sring (the 64-byte header). */
#define SRING_HDR 64
DEFINE_RING_TYPES(kxen_probe, uint64_t, uint64_t);
_Static_assert(offsetof(struct kxen_probe_sring, ring) == SRING_HDR, "shared ring header size");
_Static_assert(offsetof(struct kxen_probe_sring, rsp_prod) == 2 * sizeof(RING_IDX),
               "rsp_prod is the third index");

static int ring_kill(struct kxen_ring_guard *g, const char *reason, RING_IDX prod, RING_IDX cons,
                     unsigned int size)
{
    g->dead = 1;
    g->err = -EPROTO;
    g->reason = reason;
    g->prod = prod;
    g->cons = cons;
    g->size = size;
    return g->err;
}

/* Arguments come from our own code, not the peer; still refuse nonsense rather than corrupt. */
static int args_ok(const void *sring, unsigned int nr_ents, size_t slot_size, size_t out_size)
{
    return sring && nr_ents && !(nr_ents & (nr_ents - 1)) && out_size && out_size <= slot_size;
}

static void copy_slot(void *out, const void *sring, unsigned int nr_ents, size_t slot_size,
                      RING_IDX idx, size_t out_size)
{
    const char *slot = (const char *)sring + SRING_HDR + (size_t)(idx & (nr_ents - 1)) * slot_size;
    /* The one and only read of the slot; everything after works on *out. */
    memcpy(out, slot, out_size);
    __asm__ __volatile__("" ::: "memory");
}

int kxen_ring_back_get(void *sring, unsigned int nr_ents, size_t slot_size, RING_IDX *req_cons,
                       RING_IDX rsp_prod_pvt, void *out, size_t out_size, struct kxen_ring_guard *g)
{
    if (!g || !req_cons || !out || !args_ok(sring, nr_ents, slot_size, out_size))
        return -EINVAL;
    if (g->dead)
        return g->err;

    volatile RING_IDX *shared_prod = (volatile RING_IDX *)sring; /* req_prod: first field */
    RING_IDX prod = *shared_prod;
    RING_IDX cons = *req_cons;
    xen_rmb(); /* slot contents are read after the index that published them */

    if ((RING_IDX)(prod - cons) > nr_ents)
        return ring_kill(g, "request producer index is more than a ring ahead of the consumer",
                         prod, cons, nr_ents);
    if ((RING_IDX)(prod - rsp_prod_pvt) > nr_ents)
        return ring_kill(g, "requests overrun slots whose responses are not produced yet", prod,
                         rsp_prod_pvt, nr_ents);
    if (prod == cons)
        return 0;

    copy_slot(out, sring, nr_ents, slot_size, cons, out_size);
    *req_cons = cons + 1;
    return 1;
}

int kxen_ring_front_get(void *sring, unsigned int nr_ents, size_t slot_size, RING_IDX *rsp_cons,
                        RING_IDX req_prod_pvt, void *out, size_t out_size,
                        struct kxen_ring_guard *g)
{
    if (!g || !rsp_cons || !out || !args_ok(sring, nr_ents, slot_size, out_size))
        return -EINVAL;
    if (g->dead)
        return g->err;

    volatile RING_IDX *shared_prod = (volatile RING_IDX *)sring + 2; /* rsp_prod: third field */
    RING_IDX prod = *shared_prod;
    RING_IDX cons = *rsp_cons;
    xen_rmb();

    /* A backend can only answer requests we sent; that also bounds it by the ring size. */
    if ((RING_IDX)(prod - cons) > (RING_IDX)(req_prod_pvt - cons) ||
        (RING_IDX)(prod - cons) > nr_ents)
        return ring_kill(g, "response producer index is ahead of the requests sent", prod, cons,
                         nr_ents);
    if (prod == cons)
        return 0;

    copy_slot(out, sring, nr_ents, slot_size, cons, out_size);
    *rsp_cons = cons + 1;
    return 1;
}
