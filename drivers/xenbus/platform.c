/* The platform's table of bound event-channel ports. Invariant: a port is in the table exactly
 * while it is bound through xenbus_evtchn_bind, so a handler never runs for an unbound port. */
#include <errno.h>
#include <stdlib.h>

#include "platform.h"

int xenbus_evtchn_bind(struct xenbus_platform *p, uint32_t domid, uint32_t remote_port,
                       xenbus_evtchn_handler fn, void *ctx)
{
    if (p->nr_ports == p->cap_ports) {
        unsigned int cap = p->cap_ports ? p->cap_ports * 2 : 16;
        struct xenbus_port_slot *n = realloc(p->ports, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        p->ports = n;
        p->cap_ports = cap;
    }
    int port = p->ops->evtchn_bind_interdomain(p, domid, remote_port);
    if (port < 0)
        return port;
    p->ports[p->nr_ports++] = (struct xenbus_port_slot){(uint32_t)port, fn, ctx};
    return port;
}

int xenbus_evtchn_unbind(struct xenbus_platform *p, uint32_t port)
{
    for (unsigned int i = 0; i < p->nr_ports; i++) {
        if (p->ports[i].port == port) {
            p->ports[i] = p->ports[--p->nr_ports];
            return p->ops->evtchn_unbind(p, port);
        }
    }
    return -ENOENT;
}

int xenbus_evtchn_dispatch(struct xenbus_platform *p)
{
    int handled = 0;
    for (;;) {
        int port = p->ops->evtchn_pending(p);
        if (port == -EAGAIN)
            return handled;
        if (port < 0)
            return port;
        for (unsigned int i = 0; i < p->nr_ports; i++) {
            if (p->ports[i].port == (uint32_t)port) {
                p->ports[i].fn(p->ports[i].ctx, (uint32_t)port);
                break;
            }
        }
        /* The handler may have unbound the port; unmasking an unbound port is harmless. */
        p->ops->evtchn_unmask(p, (uint32_t)port);
        handled++;
    }
}

void xenbus_platform_destroy(struct xenbus_platform *p)
{
    if (!p)
        return;
    free(p->ports);
    p->ports = NULL;
    p->nr_ports = p->cap_ports = 0;
    if (p->ops->destroy)
        p->ops->destroy(p);
}
