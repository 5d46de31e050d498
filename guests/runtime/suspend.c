/* The guest side of Xen's suspend protocol (guest/suspend.h). Event channels, grant frames,
 * vcpu_info and timers are carried by kxen's save stream, so a runtime guest registers its
 * xenstore watches and its control/feature-suspend again, then runs the resume hooks: each
 * frontend throws away the rings, grants and ports of the old host's backend (that backend is
 * gone with the old domain) and does its handshake again with the backend the toolstack made
 * on the new host, as Linux's xenbus resume does.
 * Invariant: a hook is on the list exactly while its device is connected. */
#include <kxen/sched.h>

#include "guest/hypercall.h"
#include "guest/time.h"
#include "guest/suspend.h"
#include "guest/xenbus.h"

int guest_suspend_advertise(void)
{
    return xenbus_write(XBT_NIL, "control/feature-suspend", "1");
}

static struct guest_resume_hook *hooks;

void guest_resume_register(struct guest_resume_hook *hook)
{
    guest_resume_unregister(hook);
    hook->next = hooks;
    hooks = hook;
}

void guest_resume_unregister(struct guest_resume_hook *hook)
{
    for (struct guest_resume_hook **p = &hooks; *p; p = &(*p)->next)
        if (*p == hook) {
            *p = hook->next;
            hook->next = 0;
            return;
        }
}

static int run_hooks(void)
{
    int first = 0;
    uint64_t deadline = monotonic_ns() + GUEST_RESUME_NS;
    /* A hook may unregister itself (its device failed to come back): read next first. */
    for (struct guest_resume_hook *h = hooks, *next; h; h = next) {
        next = h->next;
        int rc = h->fn(h->ctx, deadline);
        if (rc < 0 && !first)
            first = rc;
    }
    return first;
}

int guest_suspend(void)
{
    struct sched_shutdown s = {.reason = SHUTDOWN_suspend};
    long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    if (rc == 0) {
        /* The new domain's control/ nodes are the toolstack's fresh ones: say again that
         * this guest suspends itself. */
        int xrc = xenbus_resume();
        if (xrc == 0)
            xrc = guest_suspend_advertise();
        int hrc = run_hooks();
        if (xrc < 0)
            return xrc;
        if (hrc < 0)
            return hrc;
    }
    return (int)rc;
}
