/* Shared between the daemon skeleton's two files; not part of its interface. */
#ifndef KXEN_DAEMON_PRIV_H
#define KXEN_DAEMON_PRIV_H

#include "kxen/daemon.h"

/* Removes the pid files if this process owns them, then drops the locks. */
void kxen_daemon_pidfiles_release(struct kxen_daemon *d);

#endif
