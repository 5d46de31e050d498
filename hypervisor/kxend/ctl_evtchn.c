/* Control-socket ops 64..95: dom0 event-channel ends for libxenevtchn and the toolstack.
 * Binding hands the client two eventfds; after that no message crosses the socket per event.
 * Ports a connection bound are closed when it goes away (cleanup callbacks). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <kxen/event_channel.h>

#include "kxen/ctl_evtchn.h"
#include "kxend/ctl_server.h"
#include "kxend/evtchn.h"

/* One cleanup entry per connection (remove-then-add keeps it single): it closes every port
 * the connection still holds when the client goes away. */
static void dom0_ports_cleanup(void *conn)
{
    evtchn_dom0_close_all(conn);
}

/* Common tail of every bind: register the cleanup, hand out the eventfds. */
static int bind_reply(struct ctl_request *req, struct ctl_reply *rep, int rc, uint32_t port,
                      struct evtchn_dom0_fds *fds)
{
    if (rc)
        return rc;
    ctl_conn_remove_cleanup(req->conn, dom0_ports_cleanup, req->conn);
    rc = ctl_conn_add_cleanup(req->conn, dom0_ports_cleanup, req->conn);
    if (rc) {
        evtchn_dom0_close(port, req->conn);
        close(fds->notify_fd);
        close(fds->kick_fd);
        return rc;
    }
    struct kxen_ctl_evtchn_port_rep *out = rep->payload;
    memset(out, 0, sizeof(*out));
    out->port = port;
    rep->len = sizeof(*out);
    rep->fds[0] = fds->notify_fd;
    rep->fds[1] = fds->kick_fd;
    rep->nfds = 2;
    return 0;
}

static int ctl_bind_interdomain(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_bind *a = req->payload;
    struct evtchn_dom0_fds fds;
    uint32_t port = 0;
    int rc = evtchn_dom0_bind_interdomain(a->domid, a->remote_port, req->conn, &port, &fds);
    return bind_reply(req, rep, rc, port, &fds);
}

static int ctl_bind_unbound(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_bind *a = req->payload;
    struct evtchn_dom0_fds fds;
    uint32_t port = 0;
    int rc = evtchn_dom0_bind_unbound(a->domid, req->conn, &port, &fds);
    return bind_reply(req, rep, rc, port, &fds);
}

static int ctl_bind_virq(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_bind *a = req->payload;
    struct evtchn_dom0_fds fds;
    uint32_t port = 0;
    int rc = evtchn_dom0_bind_virq(a->virq, req->conn, &port, &fds);
    return bind_reply(req, rep, rc, port, &fds);
}

static int ctl_unbind(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_port_arg *a = req->payload;
    (void)rep;
    if (a->port >= KXEN_EVTCHN_NR_PORTS)
        return -EINVAL;
    return evtchn_dom0_close(a->port, req->conn);
}

static int ctl_alloc_unbound_for(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_dom_arg *a = req->payload;
    uint32_t port = 0;
    int rc = evtchn_alloc_unbound_for(a->domid, a->remote_domid, &port);
    if (rc)
        return rc;
    struct kxen_ctl_evtchn_port_rep *out = rep->payload;
    memset(out, 0, sizeof(*out));
    out->port = port;
    rep->len = sizeof(*out);
    return 0;
}

static int ctl_status(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_status_arg *a = req->payload;
    struct evtchn_status st;
    memset(&st, 0, sizeof(st));
    int rc = evtchn_get_status(a->domid, a->port, &st);
    if (rc)
        return rc;
    struct kxen_ctl_evtchn_status_rep *out = rep->payload;
    memset(out, 0, sizeof(*out));
    out->status = st.status;
    out->vcpu = st.vcpu;
    if (st.status == EVTCHNSTAT_unbound)
        out->remote_domid = st.u.unbound.dom;
    else if (st.status == EVTCHNSTAT_interdomain) {
        out->remote_domid = st.u.interdomain.dom;
        out->remote_port = st.u.interdomain.port;
    } else if (st.status == EVTCHNSTAT_virq)
        out->virq = st.u.virq;
    rep->len = sizeof(*out);
    return 0;
}

static int ctl_reset(struct ctl_request *req, struct ctl_reply *rep)
{
    const struct kxen_ctl_evtchn_dom_arg *a = req->payload;
    (void)rep;
    return evtchn_reset_domain(a->domid);
}

static const struct ctl_op evtchn_ctl_ops[] = {
    {KXEN_CTL_EVTCHN_BIND_INTERDOMAIN, "evtchn_bind_interdomain", true,
     sizeof(struct kxen_ctl_evtchn_bind), ctl_bind_interdomain},
    {KXEN_CTL_EVTCHN_BIND_UNBOUND, "evtchn_bind_unbound", true, sizeof(struct kxen_ctl_evtchn_bind),
     ctl_bind_unbound},
    {KXEN_CTL_EVTCHN_BIND_VIRQ, "evtchn_bind_virq", true, sizeof(struct kxen_ctl_evtchn_bind),
     ctl_bind_virq},
    {KXEN_CTL_EVTCHN_UNBIND, "evtchn_unbind", true, sizeof(struct kxen_ctl_evtchn_port_arg),
     ctl_unbind},
    {KXEN_CTL_EVTCHN_ALLOC_UNBOUND_FOR, "evtchn_alloc_unbound_for", true,
     sizeof(struct kxen_ctl_evtchn_dom_arg), ctl_alloc_unbound_for},
    {KXEN_CTL_EVTCHN_STATUS, "evtchn_status", true, sizeof(struct kxen_ctl_evtchn_status_arg),
     ctl_status},
    {KXEN_CTL_EVTCHN_RESET, "evtchn_reset", true, sizeof(struct kxen_ctl_evtchn_dom_arg),
     ctl_reset},
};

static const struct ctl_op_group ctl_evtchn_group = {
    .name = "evtchn",
    .ops = evtchn_ctl_ops,
    .nr_ops = sizeof(evtchn_ctl_ops) / sizeof(evtchn_ctl_ops[0]),
};
CTL_OP_GROUP_REGISTER(ctl_evtchn_group);
