/* The devd supervisor's interface to main (devd_supervisor.c). */
#ifndef KXEN_DEVD_SUPERVISOR_H
#define KXEN_DEVD_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "devd.h"

struct devd_supervisor_cfg {
    const char *self_exe;  /* this program, exec'd with --worker for each domain */
    const char *rundir;    /* devd.sock and the workers' pid files */
    const char *log_level; /* passed on to the workers */
    const char *log_file;  /* NULL: stderr, which the workers inherit */
    uint32_t self_domid;   /* the domain the backends run in */
};

/* Connects to xenstore, watches every registered type's directory, listens on devd.sock and
 * starts the workers the store already calls for. Returns 0 or -errno with err filled. */
int devd_supervisor_setup(struct event_base *base, const struct devd_supervisor_cfg *cfg, char *err,
                          size_t errlen);
/* Stops every worker (SIGTERM, then SIGKILL after a bound) and releases everything. */
void devd_supervisor_stop(void);
/* True once the connection to xenstored was lost (the event loop then ends). */
bool devd_supervisor_lost_store(void);

#endif
