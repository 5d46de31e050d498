/* The guest side of Xen's suspend protocol (guest/suspend.h). Event channels, grant frames,
 * vcpu_info and timers are carried by kxen's save stream, so a runtime guest only registers
 * its xenstore watches and its control/feature-suspend again; its frontends reconnect through their
 * own state machines when the backends on the new host come up. */
#include <kxen/sched.h>

#include "guest/hypercall.h"
#include "guest/suspend.h"
#include "guest/xenbus.h"

int guest_suspend_advertise(void)
{
    return xenbus_write(XBT_NIL, "control/feature-suspend", "1");
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
        if (xrc < 0)
            return xrc;
    }
    return (int)rc;
}
