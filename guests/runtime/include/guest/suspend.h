/* Xen's guest suspend protocol (save, restore, migration): the toolstack writes
 * control/shutdown = "suspend" to a guest that advertised control/feature-suspend = "1"; the
 * guest acknowledges by clearing the node and calls SCHEDOP_shutdown(SHUTDOWN_suspend). The
 * call returns 0 when the guest resumes in a new domain (restore, migration) and 1 when the
 * suspend was cancelled (a checkpoint: `xl save -c`, or a migration that failed). */
#ifndef GUEST_SUSPEND_H
#define GUEST_SUSPEND_H

#include <stdint.h>

/* Writes control/feature-suspend = "1". 0 or a negative Xen errno. */
int guest_suspend_advertise(void);
/* Suspends; after a resume in a new domain, re-registers the xenstore watches, advertises
 * control/feature-suspend again and runs every resume hook (each frontend reconnecting to the
 * new host's backend). Returns the hypercall's result (0 resumed in a new domain, 1
 * cancelled) or a negative Xen errno: the first that xenstore or a hook returned (the other
 * hooks still run, so one broken device does not keep the rest disconnected). */
int guest_suspend(void);

/* A device that must reconnect after a resume in a new domain registers one of these (it
 * lives in the device's own state; the list is intrusive, so registering never allocates).
 * fn runs from guest_suspend's caller's context, with a deadline for its handshake. */
struct guest_resume_hook {
    int (*fn)(void *ctx, uint64_t deadline_ns);
    void *ctx;
    struct guest_resume_hook *next;
};
void guest_resume_register(struct guest_resume_hook *hook);
/* Safe on a hook that is not registered. */
void guest_resume_unregister(struct guest_resume_hook *hook);
/* How long a resume hook may take for its handshake. */
#define GUEST_RESUME_NS 30000000000ull

#endif
