/* Client side of kxend's control socket (kxen/ctl.h), shared by every dom0 library: libxenctrl
 * (xc_*), the event-channel, grant and foreign-memory libraries. One connection carries one
 * request at a time (a mutex serialises callers of one connection); the reply is matched by
 * seq. Asynchronous messages (domain events, KXEN_CTL_EVENT_DOMAIN) arrive only on connections
 * that subscribed; read them with kxen_ctl_recv_event(). Never prints, never exits.
 *
 * Link: $(HV_CTL_CLIENT_LIB) (build/lib/libkxenctlclient.a, position independent, needs
 * $(COMMON_LIB) after it). */
#ifndef KXEN_CTL_CLIENT_H
#define KXEN_CTL_CLIENT_H

#include <stdint.h>

#include "kxen/ctl.h"

struct kxen_ctl;

/* Connects to rundir/kxend.sock (rundir NULL = kxen_rundir()). Returns 0 or -errno: -ENOENT /
 * -ECONNREFUSED when no kxend runs there. The socket is close-on-exec. */
int kxen_ctl_open(const char *rundir, struct kxen_ctl **out);
void kxen_ctl_close(struct kxen_ctl *c);
/* The socket, for poll() by event subscribers. */
int kxen_ctl_fd(const struct kxen_ctl *c);

/* One request/reply. req/req_len: payload sent; fds/nfds: descriptors sent with it (stay the
 * caller's). rep/rep_cap: buffer for the reply payload (may be NULL/0); *rep_len gets the reply
 * payload size (may be NULL). rep_fds (room for KXEN_CTL_MAX_FDS, may be NULL: received fds
 * are then closed) and *rep_nfds get the descriptors received, now owned by the caller.
 * Returns the server's rc (0 or -errno), or -errno of the transport (-EPIPE: kxend went away,
 * -EMSGSIZE: the reply did not fit rep_cap, -EPROTO: malformed reply). */
int kxen_ctl_call(struct kxen_ctl *c, uint32_t op, const void *req, uint32_t req_len,
                  const int *fds, unsigned nfds, void *rep, uint32_t rep_cap, uint32_t *rep_len,
                  int *rep_fds, unsigned *rep_nfds);

/* The reason kxend gave for the last refused call on this connection (kxen/ctl.h), or "" when
 * it gave none; valid until the next call. */
const char *kxen_ctl_reason(const struct kxen_ctl *c);

/* Simple form: no descriptors either way. */
int kxen_ctl_simple(struct kxen_ctl *c, uint32_t op, const void *req, uint32_t req_len, void *rep,
                    uint32_t rep_cap, uint32_t *rep_len);

/* Reads one asynchronous message (after KXEN_CTL_EVENTS_SUBSCRIBE on this connection).
 * timeout_ms < 0 waits forever. Returns 0 with *op and payload filled, -ETIMEDOUT, -EPIPE or
 * -errno. */
int kxen_ctl_recv_event(struct kxen_ctl *c, int timeout_ms, uint32_t *op, void *buf, uint32_t cap,
                        uint32_t *len);

#endif
