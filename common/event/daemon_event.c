/* The stop request as a libevent event: the self-pipe's read end, persistent, breaking the
 * loop the first time a signal arrives. Breaking (not exiting) the loop stops the daemon
 * before it serves anything else, as a signal handler calling exit would. */
#include "kxen/daemon_event.h"

#include <errno.h>

#include "kxen/daemon.h"

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct kxen_daemon_stop *s = arg;
    int sig = kxen_daemon_stop_signal();
    if (!sig)
        return;
    if (!s->signal)
        s->signal = sig;
    event_base_loopbreak(event_get_base(s->ev));
}

int kxen_daemon_stop_watch(struct kxen_daemon_stop *s, struct event_base *base)
{
    s->signal = 0;
    s->ev = NULL;
    int fd = kxen_daemon_stop_fd();
    if (fd < 0)
        return -EBADF;
    s->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_stop, s);
    if (!s->ev)
        return -ENOMEM;
    if (event_add(s->ev, NULL) < 0) {
        event_free(s->ev);
        s->ev = NULL;
        return -ENOMEM;
    }
    return 0;
}

void kxen_daemon_stop_unwatch(struct kxen_daemon_stop *s)
{
    if (s->ev)
        event_free(s->ev);
    s->ev = NULL;
}
