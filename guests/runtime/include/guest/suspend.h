/* Xen's guest suspend protocol (save, restore, migration): the toolstack writes
 * control/shutdown = "suspend" to a guest that advertised control/feature-suspend = "1"; the
 * guest acknowledges by clearing the node and calls SCHEDOP_shutdown(SHUTDOWN_suspend). The
 * call returns 0 when the guest resumes in a new domain (restore, migration) and 1 when the
 * suspend was cancelled (a checkpoint: `xl save -c`, or a migration that failed). */
#ifndef GUEST_SUSPEND_H
#define GUEST_SUSPEND_H

/* Writes control/feature-suspend = "1". 0 or a negative Xen errno. */
int guest_suspend_advertise(void);
/* Suspends; after a resume in a new domain, re-registers the xenstore watches. Returns the
 * hypercall's result (0 resumed in a new domain, 1 cancelled) or a negative Xen errno. */
int guest_suspend(void);

#endif
