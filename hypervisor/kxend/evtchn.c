/* Event channels: Xen's 2-level ABI. Port tables live host-side; pending bits reach the
 * guest's shared_info only on its own vCPU thread (evtchn_sync), as domain.h requires, because
 * the soft accelerator's guests do not see host atomics as atomic while they execute.
 * dom0 (the host's processes) is domid 0 with its own table whose bound ports are eventfds. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <kxen/event_channel.h>
#include <kxen/xen.h>

#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/accel.h"
#include "kxend/evtchn.h"
#include "evtchn_internal.h"
#include "kxend/guest_mem.h"
#include "kxend/subsys.h"

_Static_assert(KXEN_EVTCHN_NR_PORTS == EVTCHN_2L_NR_CHANNELS, "2-level port count");

pthread_mutex_t evtchn_lock = PTHREAD_MUTEX_INITIALIZER;
struct evtchn_domain evtchn_dom0_tab; /* domid 0, d == NULL */
int evtchn_dom0_epoll_fd = -1;        /* kick fds of dom0 ports, read by the poller thread */

/* ---- validation helpers: every guest- or client-supplied value passes one of these ---- */

int evtchn_port_check(uint32_t port)
{
    return port < KXEN_EVTCHN_NR_PORTS ? 0 : -EINVAL;
}

/* DOMID_SELF -> the caller; reserved ids name no domain. */
static int domid_resolve(const struct domain *self, uint32_t domid, uint16_t *out)
{
    if (domid == DOMID_SELF) {
        *out = self->domid;
        return 0;
    }
    if (domid >= DOMID_FIRST_RESERVED)
        return -ESRCH;
    *out = (uint16_t)domid;
    return 0;
}

/* The domain an op names: the caller's own, or any for a privileged caller. */
static int domid_resolve_own(const struct domain *self, uint32_t domid, uint16_t *out)
{
    int rc = domid_resolve(self, domid, out);
    if (rc == 0 && *out != self->domid && !self->privileged)
        rc = -EPERM;
    return rc;
}

static int vcpu_check(const struct domain *d, uint32_t vcpu)
{
    if (vcpu >= d->nr_vcpus || vcpu >= KXEN_MAX_VCPUS || !d->vcpus[vcpu])
        return -ENOENT;
    return 0;
}

/* Xen's per-vCPU VIRQs; every other one is global (bound on vCPU 0, movable with bind_vcpu). */
bool evtchn_virq_is_global(unsigned virq)
{
    return !(virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == VIRQ_XENOPROF ||
             virq == VIRQ_XENPMU);
}

/* ---- guest-memory side of the 2-level ABI (vCPU thread only) ---- */

static struct shared_info *shared_info_of(struct domain *d)
{
    uint64_t gpa = d->shared_info_gpa;
    if (gpa == ~0ull || (gpa & 7)) /* ~0: not mapped yet (KXEN_NO_GPA) */
        return NULL;
    return guest_phys_ptr(d, gpa, sizeof(struct shared_info));
}

static struct vcpu_info *vcpu_info_of(struct vcpu *v, uint64_t *gpa_out)
{
    uint64_t gpa = v->vcpu_info_gpa;
    if (gpa == ~0ull) {
        if (v->id >= XEN_LEGACY_MAX_VCPUS || !shared_info_of(v->dom))
            return NULL;
        gpa = v->dom->shared_info_gpa + offsetof(struct shared_info, vcpu_info) +
              v->id * sizeof(struct vcpu_info);
    }
    if (gpa & 7)
        return NULL;
    if (gpa_out)
        *gpa_out = gpa;
    return guest_phys_ptr(v->dom, gpa, sizeof(struct vcpu_info));
}

static struct vcpu *port_vcpu(struct domain *d, const struct evtchn_port *p)
{
    uint32_t id = atomic_load(&p->notify_vcpu);
    return vcpu_check(d, id) == 0 ? d->vcpus[id] : NULL;
}

/* Selector bit and upcall flag for a pending, unmasked port; kicks v unless it is `self`. */
static void mark_vcpu_pending(struct vcpu *v, unsigned word, struct vcpu *self)
{
    uint64_t gpa = 0;
    struct vcpu_info *vi = vcpu_info_of(v, &gpa);
    if (!vi)
        return;
    xen_ulong_t bit = 1ul << word;
    if (!(__atomic_fetch_or(&vi->evtchn_pending_sel, bit, __ATOMIC_SEQ_CST) & bit)) {
        __atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
        guest_mark_dirty(v->dom, gpa, sizeof(*vi));
    }
    if (v != self)
        vcpu_kick(v);
}

static void set_pending_2l(struct evtchn_domain *tab, struct shared_info *si, uint32_t port,
                           struct vcpu *self)
{
    unsigned word = port / 64;
    xen_ulong_t bit = 1ul << (port % 64);
    if (__atomic_fetch_or(&si->evtchn_pending[word], bit, __ATOMIC_SEQ_CST) & bit)
        return;
    guest_mark_dirty(tab->d, tab->d->shared_info_gpa, sizeof(*si));
    if (__atomic_load_n(&si->evtchn_mask[word], __ATOMIC_SEQ_CST) & bit)
        return;
    struct vcpu *target = port_vcpu(tab->d, &tab->ports[port]);
    if (target)
        mark_vcpu_pending(target, word, self);
}

bool evtchn_sync(struct vcpu *v)
{
    struct domain *d = v->dom;
    struct evtchn_domain *tab = d->evtchn;
    struct shared_info *si = shared_info_of(d);
    if (tab && si) {
        for (unsigned w = 0; w < ARRAY_SIZE(tab->host_pending); w++) {
            /* A plain load first: a locked exchange of each of the 64 words cost more than
             * the rest of a guest entry's bookkeeping. */
            if (!atomic_load_explicit(&tab->host_pending[w], memory_order_relaxed))
                continue;
            uint64_t bits = atomic_exchange(&tab->host_pending[w], 0);
            while (bits) {
                unsigned b = (unsigned)__builtin_ctzll(bits);
                bits &= bits - 1;
                set_pending_2l(tab, si, w * 64 + b, v);
            }
        }
    }
    struct vcpu_info *vi = vcpu_info_of(v, NULL);
    return vi && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
}

bool evtchn_port_is_pending(struct domain *d, uint32_t port)
{
    struct evtchn_domain *tab = d->evtchn;
    if (evtchn_port_check(port) || !tab)
        return false;
    if (atomic_load(&tab->host_pending[port / 64]) & (1ull << (port % 64)))
        return true;
    struct shared_info *si = shared_info_of(d);
    return si && (__atomic_load_n(&si->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) &
                  (1ul << (port % 64)));
}

/* ---- host side (evtchn_lock held) ---- */

/* Any thread: a guest end is marked host-pending and its vCPU kicked; a dom0 end gets an
 * eventfd write (that is the whole dom0 fast path). */
void evtchn_raise_locked(struct evtchn_domain *tab, uint32_t port)
{
    struct evtchn_port *p = &tab->ports[port];
    if (p->state == ECS_FREE)
        return;
    if (!tab->d) {
        evtchn_dom0_notify_locked(port);
        return;
    }
    struct vcpu *v = port_vcpu(tab->d, p);
    /* The accelerator may set the same guest-memory bits and inject the upcall itself, without
     * stopping the vCPU (kvm with KVM's Xen support); else the vCPU does it before its next
     * entry. */
    const struct accel_ops *a = tab->d->accel;
    if (v && a && a->evtchn_send && a->evtchn_send(v, port) == 0) {
        /* A vCPU blocked in kxend (SCHEDOP_block/poll) is not in the guest: wake it. It set
         * BLOCKED before looking at upcall_pending, which the send set before this load. */
        if (atomic_load(&v->state) == VCPU_BLOCKED)
            vcpu_kick(v);
        return;
    }
    atomic_fetch_or(&tab->host_pending[port / 64], 1ull << (port % 64));
    if (v)
        vcpu_kick(v);
}

/* Clears port's event on both sides. A port must not fire with an event it had before it was
 * freed or handed out again: Xen clears it at close, and the shared_info of a restored guest
 * carries the bits of ports that are gone on this host (Xen gives such a guest a new page).
 * Linux binds a new port's handler before its device is ready (xen-netfront BUGs on an event
 * its carrier-off queue did not expect). Guest memory only from the domain's own vCPU thread
 * (self); others clear the host side. */
static void port_clear_pending(struct evtchn_domain *tab, uint32_t port, struct vcpu *self)
{
    atomic_fetch_and(&tab->host_pending[port / 64], ~(1ull << (port % 64)));
    if (!self || !tab->d || self->dom != tab->d)
        return;
    struct shared_info *si = shared_info_of(tab->d);
    xen_ulong_t bit = 1ul << (port % 64);
    if (si && (__atomic_fetch_and(&si->evtchn_pending[port / 64], ~bit, __ATOMIC_SEQ_CST) & bit))
        guest_mark_dirty(tab->d,
                         tab->d->shared_info_gpa +
                             offsetof(struct shared_info, evtchn_pending[port / 64]),
                         sizeof(xen_ulong_t));
}

int evtchn_port_alloc(struct evtchn_domain *tab, uint32_t *port)
{
    for (uint32_t i = 1; i < KXEN_EVTCHN_NR_PORTS; i++) {
        struct evtchn_port *p = &tab->ports[i];
        if (p->state != ECS_FREE)
            continue;
        uint32_t gen = p->gen;
        memset(p, 0, sizeof(*p));
        p->gen = gen;
        p->notify_fd = p->kick_fd = -1;
        *port = i;
        return 0;
    }
    return -ENOSPC;
}

void evtchn_port_free(struct evtchn_domain *tab, uint32_t port, struct vcpu *self)
{
    struct evtchn_port *p = &tab->ports[port];
    if (p->kick_fd >= 0 && p->state == ECS_INTERDOMAIN && p->peer)
        evtchn_dom0_unsteer_locked(p->peer, p);
    if (p->kick_fd >= 0) {
        if (evtchn_dom0_epoll_fd >= 0)
            epoll_ctl(evtchn_dom0_epoll_fd, EPOLL_CTL_DEL, p->kick_fd, NULL);
        close(p->kick_fd);
    }
    if (p->notify_fd >= 0)
        close(p->notify_fd);
    p->notify_fd = p->kick_fd = -1;
    p->state = ECS_FREE;
    p->peer = NULL;
    p->owner = NULL;
    p->gen++;
    atomic_store(&p->notify_vcpu, 0);
    port_clear_pending(tab, port, self);
}

int evtchn_close_locked(struct evtchn_domain *tab, uint32_t port, struct vcpu *self)
{
    struct evtchn_port *p = &tab->ports[port];
    switch (p->state) {
    case ECS_FREE:
        return -EINVAL;
    case ECS_VIRQ:
        if (tab->virq_port[p->virq_vcpu][p->virq] == port)
            tab->virq_port[p->virq_vcpu][p->virq] = 0;
        break;
    case ECS_INTERDOMAIN: {
        /* The other end goes back to unbound, offered to us again (Xen's rule). */
        struct evtchn_port *rp = &p->peer->ports[p->remote_port];
        if (rp->kick_fd >= 0)
            evtchn_dom0_unsteer_locked(tab, rp);
        rp->state = ECS_UNBOUND;
        rp->remote_dom = tab->domid;
        rp->peer = NULL;
        break;
    }
    default:
        break;
    }
    evtchn_port_free(tab, port, self);
    return 0;
}

/* Table of domid (0 = dom0) with a reference on the domain in *ref (NULL for dom0). */
static int tab_get(uint16_t domid, struct evtchn_domain **tab, struct domain **ref)
{
    *ref = NULL;
    if (domid == 0) {
        *tab = &evtchn_dom0_tab;
        return 0;
    }
    struct domain *d = domain_get(domid);
    if (!d)
        return -ESRCH;
    *ref = d;
    *tab = NULL;
    return 0;
}

/* Under evtchn_lock: the domain's table, which disappears when the domain is destroyed. */
static struct evtchn_domain *tab_locked(struct evtchn_domain *tab, struct domain *ref)
{
    return ref ? ref->evtchn : tab;
}

static void tab_put(struct domain *ref)
{
    if (ref)
        domain_put(ref);
}

/* dom's table with evtchn_lock held (release both with tab_unlock), or NULL with *rc set and
 * nothing held. */
static struct evtchn_domain *tab_lock(uint16_t dom, struct domain **ref, int *rc)
{
    struct evtchn_domain *tab;
    if ((*rc = tab_get(dom, &tab, ref)))
        return NULL;
    pthread_mutex_lock(&evtchn_lock);
    if ((tab = tab_locked(tab, *ref)))
        return tab;
    pthread_mutex_unlock(&evtchn_lock);
    tab_put(*ref);
    *rc = -ESRCH;
    return NULL;
}

static void tab_unlock(struct domain *ref)
{
    pthread_mutex_unlock(&evtchn_lock);
    tab_put(ref);
}

/* Interdomain link of local:lport to remote:rport (which is unbound for local). */
int evtchn_bind_interdomain_locked(struct evtchn_domain *lt, struct evtchn_domain *rt,
                                   uint32_t rport, uint32_t *lport_out)
{
    if (evtchn_port_check(rport))
        return -EINVAL;
    struct evtchn_port *rp = &rt->ports[rport];
    if (rp->state != ECS_UNBOUND || rp->remote_dom != lt->domid)
        return -EINVAL;
    uint32_t lport;
    int rc = evtchn_port_alloc(lt, &lport);
    if (rc)
        return rc;
    struct evtchn_port *lp = &lt->ports[lport];
    lp->state = ECS_INTERDOMAIN;
    lp->remote_dom = rt->domid;
    lp->remote_port = rport;
    lp->peer = rt;
    rp->state = ECS_INTERDOMAIN;
    rp->remote_dom = lt->domid;
    rp->remote_port = lport;
    rp->peer = lt;
    if (rt == &evtchn_dom0_tab)
        evtchn_dom0_steer_locked(rport);
    *lport_out = lport;
    return 0;
}

/* An unbound port of dom offered to remote_dom; self: the calling vCPU (port_clear_pending). */
static int alloc_unbound(uint16_t dom, uint16_t remote_dom, uint32_t *port, struct vcpu *self)
{
    struct domain *ref;
    int rc;
    struct evtchn_domain *tab = tab_lock(dom, &ref, &rc);
    if (!tab)
        return rc;
    if ((rc = evtchn_port_alloc(tab, port)) == 0) {
        tab->ports[*port].state = ECS_UNBOUND;
        tab->ports[*port].remote_dom = remote_dom;
        port_clear_pending(tab, *port, self);
    }
    tab_unlock(ref);
    return rc;
}

/* ---- the hypercall ---- */

static int op_alloc_unbound(struct vcpu *v, void *arg)
{
    struct evtchn_alloc_unbound *a = arg;
    uint16_t dom, rdom;
    int rc = domid_resolve_own(v->dom, a->dom, &dom);
    if (rc)
        return rc;
    if ((rc = domid_resolve(v->dom, a->remote_dom, &rdom)))
        return rc;
    uint32_t port;
    rc = alloc_unbound(dom, rdom, &port, v);
    if (rc == 0)
        a->port = port;
    return rc;
}

int evtchn_alloc_unbound_for(uint16_t dom, uint16_t remote_dom, uint32_t *port)
{
    return alloc_unbound(dom, remote_dom, port, NULL);
}

static int op_bind_interdomain(struct vcpu *v, void *arg)
{
    struct evtchn_bind_interdomain *a = arg;
    uint16_t rdom;
    int rc = domid_resolve(v->dom, a->remote_dom, &rdom);
    if (rc)
        return rc;
    struct evtchn_domain *rt;
    struct domain *ref = NULL;
    if (rdom != v->dom->domid && (rc = tab_get(rdom, &rt, &ref)))
        return rc;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *lt = v->dom->evtchn;
    rt = rdom == v->dom->domid ? lt : tab_locked(rt, ref);
    uint32_t lport = 0;
    if (!rt || !lt)
        rc = -ESRCH;
    else if ((rc = evtchn_bind_interdomain_locked(lt, rt, a->remote_port, &lport)) == 0) {
        port_clear_pending(lt, lport, v);
        atomic_store(&lt->ports[lport].notify_vcpu, v->id);
        /* Events sent to the unbound remote end were dropped: be conservative (as Xen). */
        evtchn_raise_locked(lt, lport);
        a->local_port = lport;
    }
    pthread_mutex_unlock(&evtchn_lock);
    tab_put(ref);
    return rc;
}

static int op_bind_virq(struct vcpu *v, void *arg)
{
    struct evtchn_bind_virq *a = arg;
    int rc = vcpu_check(v->dom, a->vcpu);
    if (rc)
        return rc;
    if (a->virq >= NR_VIRQS || (evtchn_virq_is_global(a->virq) && a->vcpu != 0))
        return -EINVAL;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = v->dom->evtchn;
    uint32_t port = 0;
    if (!tab)
        rc = -ESRCH;
    else if (tab->virq_port[a->vcpu][a->virq])
        rc = -EEXIST;
    else if ((rc = evtchn_port_alloc(tab, &port)) == 0) {
        struct evtchn_port *p = &tab->ports[port];
        port_clear_pending(tab, port, v);
        p->state = ECS_VIRQ;
        p->virq = a->virq;
        p->virq_vcpu = a->vcpu;
        atomic_store(&p->notify_vcpu, a->vcpu);
        tab->virq_port[a->vcpu][a->virq] = port;
        a->port = port;
    }
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

static int op_bind_ipi(struct vcpu *v, void *arg)
{
    struct evtchn_bind_ipi *a = arg;
    int rc = vcpu_check(v->dom, a->vcpu);
    if (rc)
        return rc;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = v->dom->evtchn;
    uint32_t port = 0;
    if (!tab)
        rc = -ESRCH;
    else if ((rc = evtchn_port_alloc(tab, &port)) == 0) {
        port_clear_pending(tab, port, v);
        tab->ports[port].state = ECS_IPI;
        atomic_store(&tab->ports[port].notify_vcpu, a->vcpu);
        a->port = port;
    }
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

static int op_close(struct vcpu *v, void *arg)
{
    struct evtchn_close *a = arg;
    if (evtchn_port_check(a->port))
        return -EINVAL;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = v->dom->evtchn;
    int rc = tab ? evtchn_close_locked(tab, a->port, v) : -ESRCH;
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

static int op_send(struct vcpu *v, void *arg)
{
    struct evtchn_send *a = arg;
    if (evtchn_port_check(a->port))
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = v->dom->evtchn;
    struct evtchn_port *p = tab ? &tab->ports[a->port] : NULL;
    if (!p)
        rc = -ESRCH;
    else if (p->state == ECS_INTERDOMAIN)
        evtchn_raise_locked(p->peer, p->remote_port);
    else if (p->state == ECS_IPI)
        evtchn_raise_locked(tab, a->port);
    else if (p->state != ECS_UNBOUND) /* unbound: dropped silently, as Xen does */
        rc = -EINVAL;
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

static int op_status(struct vcpu *v, void *arg)
{
    struct evtchn_status *a = arg;
    uint16_t dom;
    int rc = domid_resolve_own(v->dom, a->dom, &dom);
    if (rc)
        return rc;
    return evtchn_get_status(dom, a->port, a);
}

int evtchn_get_status(uint16_t dom, uint32_t port, struct evtchn_status *st)
{
    if (evtchn_port_check(port))
        return -EINVAL;
    struct domain *ref;
    int rc;
    struct evtchn_domain *tab = tab_lock(dom, &ref, &rc);
    if (!tab)
        return rc;
    const struct evtchn_port *p = &tab->ports[port];
    memset(&st->status, 0, sizeof(*st) - offsetof(struct evtchn_status, status));
    st->vcpu = atomic_load(&p->notify_vcpu);
    switch (p->state) {
    case ECS_FREE:
        st->status = EVTCHNSTAT_closed;
        break;
    case ECS_UNBOUND:
        st->status = EVTCHNSTAT_unbound;
        st->u.unbound.dom = p->remote_dom;
        break;
    case ECS_INTERDOMAIN:
        st->status = EVTCHNSTAT_interdomain;
        st->u.interdomain.dom = p->remote_dom;
        st->u.interdomain.port = p->remote_port;
        break;
    case ECS_VIRQ:
        st->status = EVTCHNSTAT_virq;
        st->u.virq = p->virq;
        break;
    case ECS_IPI:
        st->status = EVTCHNSTAT_ipi;
        break;
    }
    tab_unlock(ref);
    return 0;
}

static int op_bind_vcpu(struct vcpu *v, void *arg)
{
    struct evtchn_bind_vcpu *a = arg;
    if (evtchn_port_check(a->port))
        return -EINVAL;
    int rc = vcpu_check(v->dom, a->vcpu);
    if (rc)
        return rc;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = v->dom->evtchn;
    struct evtchn_port *p = tab ? &tab->ports[a->port] : NULL;
    if (!p)
        rc = -ESRCH;
    else if (p->state == ECS_UNBOUND || p->state == ECS_INTERDOMAIN ||
             (p->state == ECS_VIRQ && evtchn_virq_is_global(p->virq)))
        atomic_store(&p->notify_vcpu, a->vcpu);
    else
        rc = -EINVAL; /* free, ipi and per-vCPU virq ports stay where they are */
    pthread_mutex_unlock(&evtchn_lock);
    return rc;
}

static int op_unmask(struct vcpu *v, void *arg)
{
    struct evtchn_unmask *a = arg;
    if (evtchn_port_check(a->port))
        return -EINVAL;
    struct domain *d = v->dom;
    struct shared_info *si = shared_info_of(d);
    if (!si || !d->evtchn)
        return 0;
    unsigned word = a->port / 64;
    xen_ulong_t bit = 1ul << (a->port % 64);
    /* Re-raise the upcall for an event that arrived while masked. */
    if ((__atomic_fetch_and(&si->evtchn_mask[word], ~bit, __ATOMIC_SEQ_CST) & bit) &&
        (__atomic_load_n(&si->evtchn_pending[word], __ATOMIC_SEQ_CST) & bit)) {
        pthread_mutex_lock(&evtchn_lock);
        struct vcpu *target = port_vcpu(d, &d->evtchn->ports[a->port]);
        pthread_mutex_unlock(&evtchn_lock);
        if (target)
            mark_vcpu_pending(target, word, v);
    }
    guest_mark_dirty(d, d->shared_info_gpa, sizeof(*si));
    return 0;
}

static int op_reset(struct vcpu *v, void *arg)
{
    struct evtchn_reset *a = arg;
    uint16_t dom;
    int rc = domid_resolve_own(v->dom, a->dom, &dom);
    if (rc)
        return rc;
    return evtchn_reset_domain(dom);
}

int evtchn_reset_domain(uint16_t dom)
{
    if (dom == 0)
        return -EINVAL; /* dom0's ports belong to host processes, closed by their handles */
    struct domain *ref;
    int rc;
    struct evtchn_domain *tab = tab_lock(dom, &ref, &rc);
    if (!tab)
        return rc;
    for (uint32_t p = 1; p < KXEN_EVTCHN_NR_PORTS; p++)
        if (tab->ports[p].state != ECS_FREE)
            evtchn_close_locked(tab, p, NULL);
    tab_unlock(ref);
    return 0;
}

union evtchn_op_arg {
    struct evtchn_alloc_unbound alloc_unbound;
    struct evtchn_bind_interdomain bind_interdomain;
    struct evtchn_bind_virq bind_virq;
    struct evtchn_bind_ipi bind_ipi;
    struct evtchn_close close;
    struct evtchn_send send;
    struct evtchn_status status;
    struct evtchn_bind_vcpu bind_vcpu;
    struct evtchn_unmask unmask;
    struct evtchn_reset reset;
};

static const struct {
    int (*fn)(struct vcpu *v, void *arg);
    uint32_t size;
    bool copy_back; /* the op has out fields */
} evtchn_ops[] = {
    [EVTCHNOP_bind_interdomain] = {op_bind_interdomain, sizeof(struct evtchn_bind_interdomain),
                                   true},
    [EVTCHNOP_bind_virq] = {op_bind_virq, sizeof(struct evtchn_bind_virq), true},
    [EVTCHNOP_close] = {op_close, sizeof(struct evtchn_close), false},
    [EVTCHNOP_send] = {op_send, sizeof(struct evtchn_send), false},
    [EVTCHNOP_status] = {op_status, sizeof(struct evtchn_status), true},
    [EVTCHNOP_alloc_unbound] = {op_alloc_unbound, sizeof(struct evtchn_alloc_unbound), true},
    [EVTCHNOP_bind_ipi] = {op_bind_ipi, sizeof(struct evtchn_bind_ipi), true},
    [EVTCHNOP_bind_vcpu] = {op_bind_vcpu, sizeof(struct evtchn_bind_vcpu), false},
    [EVTCHNOP_unmask] = {op_unmask, sizeof(struct evtchn_unmask), false},
    [EVTCHNOP_reset] = {op_reset, sizeof(struct evtchn_reset), false},
};

static int64_t hc_evtchn(struct vcpu *v, const uint64_t args[5])
{
    uint64_t cmd = args[0];
    if (cmd >= ARRAY_SIZE(evtchn_ops) || !evtchn_ops[cmd].fn)
        return -ENOSYS; /* pirq and the FIFO ABI are not offered */
    union evtchn_op_arg arg;
    if (copy_from_guest(v, &arg, args[1], evtchn_ops[cmd].size))
        return -EFAULT;
    int rc = evtchn_ops[cmd].fn(v, &arg);
    if (rc == 0 && evtchn_ops[cmd].copy_back &&
        copy_to_guest(v, args[1], &arg, evtchn_ops[cmd].size))
        return -EFAULT;
    return rc;
}

const struct hypercall_family evtchn_hypercall = {
    .nr = __HYPERVISOR_event_channel_op,
    .name = "event_channel_op",
    .fn = hc_evtchn,
};
HYPERCALL_REGISTER(evtchn_hypercall);

/* ---- any-thread entry points ---- */

void evtchn_raise(struct domain *d, uint32_t port)
{
    if (evtchn_port_check(port))
        return;
    pthread_mutex_lock(&evtchn_lock);
    if (d->evtchn)
        evtchn_raise_locked(d->evtchn, port);
    pthread_mutex_unlock(&evtchn_lock);
}

void evtchn_send_virq(struct vcpu *v, unsigned virq)
{
    if (virq >= NR_VIRQS || v->id >= KXEN_MAX_VCPUS)
        return;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = v->dom->evtchn;
    /* Global VIRQs live in vCPU 0's table (bind_vcpu only changes where they notify). */
    unsigned slot = evtchn_virq_is_global(virq) ? 0 : v->id;
    if (tab && tab->virq_port[slot][virq])
        evtchn_raise_locked(tab, tab->virq_port[slot][virq]);
    pthread_mutex_unlock(&evtchn_lock);
}

int evtchn_domain_init(struct domain *d)
{
    struct evtchn_domain *tab = calloc(1, sizeof(*tab));
    if (!tab)
        return -ENOMEM;
    tab->domid = d->domid;
    tab->d = d;
    tab->kick_epfd = epoll_create1(EPOLL_CLOEXEC); /* -1: every kick goes to the poller */
    for (unsigned i = 0; i < KXEN_EVTCHN_NR_PORTS; i++)
        tab->ports[i].notify_fd = tab->ports[i].kick_fd = -1;
    pthread_mutex_lock(&evtchn_lock);
    d->evtchn = tab;
    pthread_mutex_unlock(&evtchn_lock);
    return 0;
}

void evtchn_domain_destroy(struct domain *d)
{
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = d->evtchn;
    if (tab)
        for (uint32_t p = 1; p < KXEN_EVTCHN_NR_PORTS; p++)
            if (tab->ports[p].state != ECS_FREE)
                evtchn_close_locked(tab, p, NULL);
    d->evtchn = NULL;
    pthread_mutex_unlock(&evtchn_lock);
    if (tab && tab->kick_epfd >= 0)
        close(tab->kick_epfd);
    free(tab);
}

/* Every other subsystem may send events: event channels come first and go last. */
static const struct domain_subsys evtchn_subsys = {
    .name = "evtchn",
    .order = SUBSYS_ORDER_CORE,
    .init = evtchn_domain_init,
    .destroy = evtchn_domain_destroy,
};
DOMAIN_SUBSYS_REGISTER(evtchn_subsys);
