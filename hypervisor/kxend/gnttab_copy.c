/* Grant copies: GNTTABOP_copy for guests and dom0's copies (the gntdev copy ioctl). Each
 * side is pinned for the copy only, so a granter's revoke waits at most one memmove. */
#include <string.h>

#include <kxen/grant_table.h>
#include <kxen/xen.h>

#include "gnttab_internal.h"
#include "kxend/guest_mem.h"

/* One side of a copy: pinned grant of another domain, or a frame of the caller itself. */
struct copy_side {
    struct domain *ref;       /* reference held on a granter */
    struct gnttab_domain *gt; /* pinned: unpin with gref/readonly */
    uint32_t gref;
    bool readonly;
    uint8_t *ptr;
};

static void side_release_locked(struct copy_side *s)
{
    if (s->gt)
        gnttab_unpin_locked(s->gt, s->gref, s->readonly);
    s->gt = NULL;
}

static void side_put(struct copy_side *s)
{
    if (s->ref)
        domain_put(s->ref);
    s->ref = NULL;
}

/* Resolves a gref side granted by domid to `grantee` (domain_get outside the lock). */
static int side_get_gref(struct copy_side *s, uint16_t domid, uint32_t gref, uint16_t offset,
                         uint16_t grantee, bool readonly)
{
    memset(s, 0, sizeof(*s));
    if (domid >= DOMID_FIRST_RESERVED || !(s->ref = domain_get(domid)))
        return GNTST_bad_domain;
    s->gref = gref;
    s->readonly = readonly;
    pthread_mutex_lock(&gnttab_lock);
    struct gnttab_domain *gt = s->ref->gnttab;
    uint64_t gpa = 0;
    int st = gt ? gnttab_pin_locked(gt, gref, grantee, readonly, &gpa) : GNTST_bad_domain;
    if (st == GNTST_okay) {
        s->gt = gt;
        s->ptr = guest_phys_ptr(s->ref, gpa + offset, 1);
    }
    pthread_mutex_unlock(&gnttab_lock);
    if (st == GNTST_okay && !s->ptr) {
        pthread_mutex_lock(&gnttab_lock);
        side_release_locked(s);
        pthread_mutex_unlock(&gnttab_lock);
        st = GNTST_bad_page;
    }
    return st;
}

static void side_done(struct copy_side *s, uint16_t len)
{
    if (s->gt && !s->readonly)
        guest_mark_dirty(s->ref, (uint64_t)(s->ptr - s->ref->ram), len);
    pthread_mutex_lock(&gnttab_lock);
    if (s->ref && s->ref->gnttab == s->gt) /* granter may have been destroyed meanwhile */
        side_release_locked(s);
    pthread_mutex_unlock(&gnttab_lock);
    side_put(s);
}

/* GNTTABOP_copy for a guest caller c. */
int16_t gnttab_copy_one(struct domain *c, const struct gnttab_copy *op)
{
    if (op->flags & ~(GNTCOPY_source_gref | GNTCOPY_dest_gref))
        return GNTST_bad_copy_arg;
    if (gnttab_span_check(op->source.offset, op->len) ||
        gnttab_span_check(op->dest.offset, op->len))
        return GNTST_bad_copy_arg;
    struct copy_side s[2];
    const struct gnttab_copy_ptr *p[2] = {&op->source, &op->dest};
    bool gref[2] = {op->flags & GNTCOPY_source_gref, op->flags & GNTCOPY_dest_gref};
    int st = GNTST_okay;
    int done = 0;
    for (; done < 2 && st == GNTST_okay; done++) {
        uint16_t domid = p[done]->domid == DOMID_SELF ? c->domid : p[done]->domid;
        if (gref[done]) {
            st = side_get_gref(&s[done], domid, p[done]->u.ref, p[done]->offset, c->domid,
                               done == 0);
            if (st)
                side_put(&s[done]);
            continue;
        }
        /* A raw frame: the caller's own, unless it is privileged (as Xen's toolstack). */
        memset(&s[done], 0, sizeof(s[done]));
        if (domid != c->domid && !c->privileged) {
            st = GNTST_permission_denied;
            continue;
        }
        if (domid != c->domid && !(s[done].ref = domain_get(domid))) {
            st = GNTST_bad_domain;
            continue;
        }
        struct domain *owner = s[done].ref ? s[done].ref : c;
        uint64_t gmfn = p[done]->u.gmfn;
        s[done].ptr = gmfn > (UINT64_MAX >> KXEN_PAGE_SHIFT)
                          ? NULL
                          : guest_phys_ptr(owner, (gmfn << KXEN_PAGE_SHIFT) + p[done]->offset,
                                           op->len ? op->len : 1);
        if (!s[done].ptr) {
            side_put(&s[done]);
            st = GNTST_bad_page;
        }
    }
    if (st == GNTST_okay) {
        memmove(s[1].ptr, s[0].ptr, op->len);
        if (!s[1].gt) {
            struct domain *owner = s[1].ref ? s[1].ref : c;
            guest_mark_dirty(owner, (uint64_t)(s[1].ptr - owner->ram), op->len);
        }
    }
    /* Release the sides acquired (all of them on success, those before the failing one
     * otherwise: the failing side released itself). */
    int acquired = st == GNTST_okay ? 2 : done - 1;
    for (int i = 0; i < acquired; i++)
        side_done(&s[i], st == GNTST_okay ? op->len : 0);
    return (int16_t)st;
}

int gnttab_dom0_copy(uint16_t domid, uint32_t ref, uint16_t offset, uint16_t len, bool to_guest,
                     void *buf)
{
    if (gnttab_span_check(offset, len))
        return GNTST_bad_copy_arg;
    struct copy_side s;
    int st = side_get_gref(&s, domid, ref, offset, 0, !to_guest);
    if (st) {
        side_put(&s);
        return st;
    }
    if (to_guest)
        memcpy(s.ptr, buf, len);
    else
        memcpy(buf, s.ptr, len);
    side_done(&s, len);
    return GNTST_okay;
}

int gnttab_dom0_copy_gref(uint16_t sdom, uint32_t sref, uint16_t soff, uint16_t ddom, uint32_t dref,
                          uint16_t doff, uint16_t len)
{
    if (gnttab_span_check(soff, len) || gnttab_span_check(doff, len))
        return GNTST_bad_copy_arg;
    struct copy_side s, d;
    int st = side_get_gref(&s, sdom, sref, soff, 0, true);
    if (st) {
        side_put(&s);
        return st;
    }
    st = side_get_gref(&d, ddom, dref, doff, 0, false);
    if (st == GNTST_okay) {
        memmove(d.ptr, s.ptr, len);
        side_done(&d, len);
    } else {
        side_put(&d);
    }
    side_done(&s, len);
    return st;
}
