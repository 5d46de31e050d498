/* The unix socket listener of xenstored. */
#ifndef XENSTORED_SOCK_H
#define XENSTORED_SOCK_H

struct xs_daemon;
struct xs_listener;

/* Listens on path (mode 0600); -EADDRINUSE if a daemon already answers there. */
int xs_listener_open(struct xs_daemon *d, const char *path, struct xs_listener **out);
/* Stops listening and removes the socket file. */
void xs_listener_close(struct xs_listener *l);

#endif
