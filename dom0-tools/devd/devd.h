/* xl devd: the backend daemon. A supervisor watches /local/domain/<self>/backend and runs one
 * worker process per frontend domain that has devices there; each worker runs every
 * registered backend type, limited to its domain, in one libevent loop (devd_worker.c).
 *
 * Backend types register themselves: a glue file in devd's source list defines a
 * `struct devd_backend_type` and puts it in the devd_backends section with
 * DEVD_BACKEND_REGISTER(); the supervisor and the workers walk the section and never name a
 * type. Which types a devd binary serves is decided only by which glue files it links. */
#ifndef KXEN_DEVD_H
#define KXEN_DEVD_H

#include <stdbool.h>
#include <stdint.h>

#include "../../drivers/xenbus/backend.h"

#define DEVD_MAX_FDS 8 /* extra fds one backend instance may ask the loop to poll */

struct devd_backend_type {
    const char *type; /* the backend directory name: "vbd", "vif" */
    /* A backend instance on its own platform (the worker owns and destroys p). */
    void *(*new)(struct xenbus_platform *p, xenbus_log_fn log, void *log_ctx);
    /* Its xenbus core, so the worker can limit it to one frontend domain before start. */
    struct xenbus_backend *(*xenbus)(void *be);
    int (*start)(void *be);
    /* Fds besides the platform's event-channel and watch fds (e.g. I/O completions);
     * returns how many were stored (<= max) or -errno. */
    int (*fds)(void *be, int *fds, unsigned int max);
    /* Handles whatever is ready: watches, event channels, completions. */
    int (*poll)(void *be);
    void (*free)(void *be);
};

#define DEVD_BACKEND_REGISTER(var)                                                                 \
    static const struct devd_backend_type *const devd_reg_##var                                    \
        __attribute__((used, section("devd_backends"), aligned(sizeof(void *)))) = &(var)

extern const struct devd_backend_type *const __start_devd_backends[] __attribute__((weak));
extern const struct devd_backend_type *const __stop_devd_backends[] __attribute__((weak));

#define DEVD_FOREACH_BACKEND(it)                                                                   \
    const struct devd_backend_type *const *it = __start_devd_backends;                             \
    it &&it < __stop_devd_backends;                                                                \
    it++

/* The worker for one frontend domain: returns the process exit status. */
int devd_worker_main(uint32_t frontend_id);

#endif
