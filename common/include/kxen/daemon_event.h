/* Hooks the daemon skeleton's stop request (kxen/daemon.h) into a libevent loop. Lives in its
 * own library, libkxendaemonevent.a, so that libkxencommon does not pull in libevent. */
#ifndef KXEN_DAEMON_EVENT_H
#define KXEN_DAEMON_EVENT_H

#include <event2/event.h>

struct kxen_daemon_stop {
    struct event *ev;
    int signal; /* the signal that asked the loop to stop; 0 while none did */
};

/* Watches kxen_daemon_stop_fd() (kxen_daemon_signals() must have run): a stop request
 * records the signal in s->signal and breaks base's loop. Returns 0 or -errno. */
int kxen_daemon_stop_watch(struct kxen_daemon_stop *s, struct event_base *base);
void kxen_daemon_stop_unwatch(struct kxen_daemon_stop *s);

#endif
