/* A devd worker: every registered backend type for one frontend domain, in one libevent loop.
 *
 * Invariants: each backend type has its own platform (its own xenstore connection, event
 * channel and grant handles), so one type's poll never consumes another type's watch events;
 * every instance is limited to the worker's frontend domain before it starts, so a guest that
 * hangs or crashes its worker stops only its own devices. The worker dies with its supervisor
 * (PR_SET_PDEATHSIG): a new supervisor's workers adopt the devices without a second backend
 * still attached to them. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "kxen/daemon.h"
#include "kxen/daemon_event.h"
#include "kxen/log.h"

#include "devd.h"

#define WORKER_TICK_MS 1000 /* catches what a missed wake-up left behind */

struct instance {
    const struct devd_backend_type *type;
    struct xenbus_platform *p;
    void *be;
    struct event *evs[DEVD_MAX_FDS + 2];
    unsigned int nr_evs;
};

/* Backends log what a frontend made them do (a broken ring, a refused grant, a device
 * reconnected again and again): rate-limited per frontend domain, as kxend does. */
static void backend_log(void *ctx, const char *msg)
{
    log_dom_info((unsigned)(uintptr_t)ctx, "%s", msg);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct instance *in = arg;
    int rc = in->type->poll(in->be);
    if (rc < 0)
        log_warn("%s backend: poll failed: %s", in->type->type, strerror(-rc));
}

static int instance_watch_fd(struct event_base *base, struct instance *in, int fd)
{
    if (fd < 0 || in->nr_evs == DEVD_MAX_FDS + 2)
        return 0;
    struct event *ev = event_new(base, fd, EV_READ | EV_PERSIST, on_ready, in);
    if (!ev || event_add(ev, NULL) < 0) {
        if (ev)
            event_free(ev);
        return -ENOMEM;
    }
    in->evs[in->nr_evs++] = ev;
    return 0;
}

static int instance_start(struct event_base *base, struct instance *in, uint32_t fid)
{
    in->p = xenbus_platform_dom0_open();
    if (!in->p)
        return -(errno ? errno : EIO);
    in->be = in->type->new (in->p, backend_log, (void *)(uintptr_t)fid);
    if (!in->be)
        return -ENOMEM;
    int rc = xenbus_backend_limit_frontend(in->type->xenbus(in->be), fid);
    if (!rc)
        rc = in->type->start(in->be);
    if (rc)
        return rc;
    int fds[DEVD_MAX_FDS];
    int n = in->type->fds ? in->type->fds(in->be, fds, DEVD_MAX_FDS) : 0;
    if (n < 0)
        return n;
    if ((rc = instance_watch_fd(base, in, in->p->ops->evtchn_fd(in->p))) ||
        (rc = instance_watch_fd(base, in, in->p->ops->xs_watch_fd(in->p))))
        return rc;
    for (int i = 0; i < n && !rc; i++)
        rc = instance_watch_fd(base, in, fds[i]);
    return rc;
}

static void instance_free(struct instance *in)
{
    for (unsigned int i = 0; i < in->nr_evs; i++)
        event_free(in->evs[i]);
    if (in->be)
        in->type->free(in->be);
    if (in->p)
        xenbus_platform_destroy(in->p);
}

struct tick_ctx {
    struct instance *ins;
    unsigned int n;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct tick_ctx *t = arg;
    for (unsigned int i = 0; i < t->n; i++)
        on_ready(-1, 0, &t->ins[i]);
}

int devd_worker_main(uint32_t fid)
{
    /* Dies with the supervisor; a supervisor that died before this line is checked too. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1)
        return 1;
    static struct kxen_daemon dm;
    kxen_daemon_init(&dm, "kxen-devd");
    if (kxen_daemon_signals(&dm, NULL) < 0) {
        log_err("worker for domain %u: %s", fid, dm.msg);
        return 1;
    }
    size_t nr = 0;
    for (DEVD_FOREACH_BACKEND(t))
        nr++;
    struct instance *ins = calloc(nr ? nr : 1, sizeof(*ins));
    struct event_base *base = event_base_new();
    struct kxen_daemon_stop stop = {0};
    struct event *tick = NULL;
    struct tick_ctx tc = {ins, (unsigned int)nr};
    int rc = !ins || !base ? -ENOMEM : kxen_daemon_stop_watch(&stop, base);
    size_t i = 0;
    for (DEVD_FOREACH_BACKEND(t)) {
        if (rc)
            break;
        ins[i].type = *t;
        rc = instance_start(base, &ins[i++], fid);
        if (rc)
            log_err("worker for domain %u: starting the %s backend: %s", fid, (*t)->type,
                    strerror(-rc));
    }
    static const struct timeval tick_tv = {WORKER_TICK_MS / 1000, (WORKER_TICK_MS % 1000) * 1000};
    if (!rc &&
        (!(tick = event_new(base, -1, EV_PERSIST, on_tick, &tc)) || event_add(tick, &tick_tv) < 0))
        rc = -ENOMEM;
    if (!rc) {
        log_info("worker for domain %u serving (pid %d)", fid, (int)getpid());
        rc = event_base_dispatch(base) < 0 ? -EIO : 0;
    }
    if (tick)
        event_free(tick);
    for (size_t j = 0; j < i; j++)
        instance_free(&ins[j]);
    kxen_daemon_stop_unwatch(&stop);
    if (base)
        event_base_free(base);
    free(ins);
    libevent_global_shutdown();
    return rc ? 1 : 0;
}
