/* Event channels in the save stream (KXEN_SREC_EVTCHN): every bound port of the domain with
 * its binding and its host-side pending bit (the guest-visible pending and mask bits travel
 * in shared_info, a guest page). On load, VIRQ, IPI and unbound ports come back as they
 * were; an interdomain port comes back unbound, offered to its old peer, because the peer
 * (a backend, xenstored, xenconsoled) binds again on the destination. Ports the toolstack
 * already allocated in the new domain (store, console) are kept as they are. */
#include <errno.h>
#include <stdlib.h>

#include "evtchn_internal.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

static int evtchn_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct kxen_srec_evtchn_port *out = calloc(KXEN_EVTCHN_NR_PORTS, sizeof(*out));
    if (!out)
        return -ENOMEM;
    uint32_t n = 0;
    pthread_mutex_lock(&evtchn_lock);
    struct evtchn_domain *tab = d->evtchn;
    for (uint32_t i = 1; tab && i < KXEN_EVTCHN_NR_PORTS; i++) {
        const struct evtchn_port *p = &tab->ports[i];
        static const uint8_t kind[] = {
            [ECS_UNBOUND] = KXEN_SREC_EVTCHN_UNBOUND,
            [ECS_INTERDOMAIN] = KXEN_SREC_EVTCHN_INTERDOMAIN,
            [ECS_VIRQ] = KXEN_SREC_EVTCHN_VIRQ,
            [ECS_IPI] = KXEN_SREC_EVTCHN_IPI,
        };
        if (p->state == ECS_FREE || p->state >= sizeof(kind))
            continue;
        out[n++] = (struct kxen_srec_evtchn_port){
            .port = i,
            .state = kind[p->state],
            .host_pending = !!(atomic_load(&tab->host_pending[i / 64]) & (1ull << (i % 64))),
            .remote_dom = p->remote_dom,
            .remote_port = p->remote_port,
            .virq = p->virq,
            .virq_vcpu = p->virq_vcpu,
            .notify_vcpu = atomic_load(&p->notify_vcpu),
        };
    }
    pthread_mutex_unlock(&evtchn_lock);
    int rc = kxend_save_put(ctx, KXEN_SREC_EVTCHN, 0, out, n * (uint32_t)sizeof(*out));
    free(out);
    return rc;
}

/* Buggy or malicious stream: every field is checked against the table's bounds. */
static int port_load_locked(struct domain *d, struct evtchn_domain *tab,
                            const struct kxen_srec_evtchn_port *s)
{
    if (evtchn_port_check(s->port) || s->notify_vcpu >= d->nr_vcpus)
        return -EINVAL;
    struct evtchn_port *p = &tab->ports[s->port];
    if (p->state != ECS_FREE)
        return 0; /* the toolstack's store/console port: its binding wins */
    switch (s->state) {
    case KXEN_SREC_EVTCHN_VIRQ:
        if (s->virq >= NR_VIRQS || s->virq_vcpu >= d->nr_vcpus ||
            tab->virq_port[s->virq_vcpu][s->virq])
            return -EINVAL;
        p->state = ECS_VIRQ;
        p->virq = s->virq;
        p->virq_vcpu = s->virq_vcpu;
        tab->virq_port[s->virq_vcpu][s->virq] = s->port;
        break;
    case KXEN_SREC_EVTCHN_IPI:
        p->state = ECS_IPI;
        break;
    case KXEN_SREC_EVTCHN_UNBOUND:
    case KXEN_SREC_EVTCHN_INTERDOMAIN:
        if (s->remote_dom >= DOMID_FIRST_RESERVED)
            return -EINVAL;
        p->state = ECS_UNBOUND;
        p->remote_dom = s->remote_dom;
        break;
    default:
        return -EINVAL;
    }
    atomic_store(&p->notify_vcpu, s->notify_vcpu);
    if (s->host_pending)
        atomic_fetch_or(&tab->host_pending[s->port / 64], 1ull << (s->port % 64));
    return 0;
}

static int evtchn_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    /* Linux binds its VIRQs and IPIs again on resume and takes -EEXIST for a bound one as
     * fatal (BUG); its frontends allocate new ports. Only the ports the toolstack made in
     * the new domain (store, console) exist, as in Xen. */
    if (kxend_save_guest_rebinds(ctx))
        return 0;
    struct kxen_srec_evtchn_port *in = calloc(KXEN_EVTCHN_NR_PORTS, sizeof(*in));
    if (!in)
        return -ENOMEM;
    int len =
        kxend_save_get(ctx, KXEN_SREC_EVTCHN, 0, in, KXEN_EVTCHN_NR_PORTS * (uint32_t)sizeof(*in));
    int rc = len < 0 ? 0 : (len % (int)sizeof(*in) ? -EINVAL : 0);
    if (len > (int)(KXEN_EVTCHN_NR_PORTS * sizeof(*in)))
        rc = -EINVAL;
    pthread_mutex_lock(&evtchn_lock);
    for (int i = 0; rc == 0 && len > 0 && i < len / (int)sizeof(*in); i++)
        rc = d->evtchn ? port_load_locked(d, d->evtchn, &in[i]) : -ESRCH;
    pthread_mutex_unlock(&evtchn_lock);
    free(in);
    return rc;
}

/* The state half of the evtchn subsystem registers on its own, at the same order, so the
 * subsystem's file and its tests stay free of the stream code. */
static const struct domain_subsys evtchn_state_subsys = {
    .name = "evtchn-state",
    .order = SUBSYS_ORDER_CORE,
    .save = evtchn_save,
    .load = evtchn_load,
};
DOMAIN_SUBSYS_REGISTER(evtchn_state_subsys);
