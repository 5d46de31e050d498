/* Link-time fallbacks for subsystems other files provide (event channels, grant tables, the
 * kvm accelerator, their control-op groups). Each is weak: the real definition, when its file
 * is in the build, replaces it. They behave as "feature absent" (-ENOSYS / nothing pending),
 * never as a fake success for a guest-visible operation. */
#include <errno.h>

#include "kxend/accel.h"
#include "kxend/ctl_server.h"
#include "kxend/evtchn.h"
#include "kxend/gnttab.h"

#define WEAK __attribute__((weak))

WEAK int evtchn_domain_init(struct domain *d)
{
    (void)d;
    return 0;
}
WEAK void evtchn_domain_destroy(struct domain *d)
{
    (void)d;
}
WEAK void evtchn_raise(struct domain *d, uint32_t port)
{
    (void)d;
    (void)port;
}
WEAK void evtchn_send_virq(struct vcpu *v, unsigned virq)
{
    (void)v;
    (void)virq;
}
WEAK bool evtchn_sync(struct vcpu *v)
{
    (void)v;
    return false;
}
WEAK bool evtchn_port_is_pending(struct domain *d, uint32_t port)
{
    (void)d;
    (void)port;
    return false;
}
WEAK const struct hypercall_family hc_event_channel_op = {32, "event_channel_op", NULL};

WEAK int gnttab_domain_init(struct domain *d)
{
    (void)d;
    return 0;
}
WEAK void gnttab_domain_destroy(struct domain *d)
{
    (void)d;
}
WEAK int gnttab_set_frame(struct domain *d, unsigned idx, uint64_t gpfn)
{
    (void)d;
    (void)idx;
    (void)gpfn;
    return -ENOSYS;
}
WEAK int gnttab_seed_reserved(struct domain *d, unsigned ref, uint16_t backend_domid, uint64_t gfn)
{
    (void)d;
    (void)ref;
    (void)backend_domid;
    (void)gfn;
    return -ENOSYS;
}
WEAK const struct hypercall_family hc_grant_table_op = {20, "grant_table_op", NULL};

static int no_kvm(void)
{
    return -ENODEV;
}
WEAK const struct accel_ops accel_kvm_ops = {.name = "kvm", .probe = no_kvm};

WEAK const struct ctl_op_group ctl_evtchn_group = {"evtchn", NULL, 0};
WEAK const struct ctl_op_group ctl_gnttab_group = {"gnttab", NULL, 0};
WEAK const struct ctl_op_group ctl_save_group = {"save", NULL, 0};
