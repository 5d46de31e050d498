/* Scheduler operations: HYPERVISOR_sched_op(cmd, arg). Xen's numbers and layouts (checked by
 * ring/tests); kxen's text. */
#ifndef KXEN_SCHED_H
#define KXEN_SCHED_H

#include <kxen/event_channel.h>

#define SCHEDOP_yield 0           /* arg unused */
#define SCHEDOP_block 1           /* sleep until an event is pending; arg unused */
#define SCHEDOP_shutdown 2        /* struct sched_shutdown */
#define SCHEDOP_poll 3            /* struct sched_poll */
#define SCHEDOP_remote_shutdown 4 /* struct sched_remote_shutdown (privileged) */
#define SCHEDOP_shutdown_code 5   /* struct sched_shutdown: record the reason only */
#define SCHEDOP_watchdog 6        /* struct sched_watchdog */
#define SCHEDOP_pin_override 7

struct sched_shutdown {
    unsigned int reason; /* SHUTDOWN_* */
};
typedef struct sched_shutdown sched_shutdown_t;

/* Block until one of ports[0..nr_ports) is pending or the absolute system time timeout (ns,
 * 0 = none) passes. */
struct sched_poll {
    XEN_GUEST_HANDLE(evtchn_port_t) ports;
    unsigned int nr_ports;
    uint64_t timeout;
};
typedef struct sched_poll sched_poll_t;

struct sched_remote_shutdown {
    domid_t domain_id;
    unsigned int reason;
};
typedef struct sched_remote_shutdown sched_remote_shutdown_t;

/* id 0 creates a watchdog (returns its id); timeout 0 destroys it. */
struct sched_watchdog {
    uint32_t id;
    uint32_t timeout; /* seconds */
};
typedef struct sched_watchdog sched_watchdog_t;

struct sched_pin_override {
    int32_t pcpu;
};
typedef struct sched_pin_override sched_pin_override_t;

#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
#define SHUTDOWN_watchdog 4
#define SHUTDOWN_soft_reset 5
#define SHUTDOWN_MAX 5

#endif
