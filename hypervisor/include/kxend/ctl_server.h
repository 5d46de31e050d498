/* kxend's control socket server: accepts dom0 clients, reads one request message at a time,
 * dispatches by op through the registered op groups, sends the reply (with fds). Handlers run on
 * the server thread; they never block on a guest. */
#ifndef KXEND_CTL_SERVER_H
#define KXEND_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kxen/ctl.h"
#include "kxend/registry.h"

struct ctl_conn;

struct ctl_request {
    struct ctl_conn *conn;
    uint32_t op;
    const void *payload;
    uint32_t len;
    const int *fds; /* received with the request; the handler takes ownership of the
                     * ones it keeps (set them to -1 in fds_taken) */
    unsigned nfds;
    bool privileged;
    pid_t pid;
    uid_t uid;
};

struct ctl_reply {
    void *payload; /* handler-provided buffer of up to KXEN_CTL_MAX_PAYLOAD bytes */
    uint32_t len;
    int fds[KXEN_CTL_MAX_FDS]; /* sent with the reply, then closed by the server */
    unsigned nfds;
    char reason[KXEN_CTL_REASON_MAX]; /* set by ctl_refuse(): sent back when rc < 0 */
};

/* A handler's refusal with its reason: fills rep->reason (logged, and sent back to the caller
 * as the reply's payload) and returns rc (a negative errno). */
int ctl_refuse(struct ctl_reply *rep, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef int (*ctl_handler_fn)(struct ctl_request *req, struct ctl_reply *rep);

struct ctl_op {
    uint32_t op;
    const char *name;
    bool privileged;  /* refuse (-EPERM) unprivileged callers before the handler */
    uint32_t min_len; /* refuse (-EINVAL) shorter payloads before the handler */
    ctl_handler_fn fn;
};

struct ctl_op_group {
    const char *name;
    const struct ctl_op *ops;
    unsigned nr_ops;
};

/* Each group file (ctl_domain.c, ctl_evtchn.c, ctl_gnttab.c, ...) registers its group with
 * CTL_OP_GROUP_REGISTER(); the server walks the registrations and never names a group. */
#define CTL_OP_GROUP_REGISTER(var) KXEND_REGISTER(kxend_ctl_groups, struct ctl_op_group, var)
KXEND_SECTION_DECLARE(kxend_ctl_groups, struct ctl_op_group);

/* Two ops with one number (in one group or two) is a registration error: logged with the
 * groups and ops involved, -EEXIST. */
int ctl_op_groups_check(const struct ctl_op_group *const *groups, size_t nr_groups);
/* Checks the registered groups (once); kxend refuses to start on an error. */
int ctl_op_groups_init(void);

/* Per-connection resources (bound ports, grant mappings): released by this callback when the
 * client disconnects or dies. */
int ctl_conn_add_cleanup(struct ctl_conn *conn, void (*fn)(void *arg), void *arg);
void ctl_conn_remove_cleanup(struct ctl_conn *conn, void (*fn)(void *arg), void *arg);

/* Asynchronous message to a client that subscribed (domain events); drops on a full socket. */
int ctl_conn_send_event(struct ctl_conn *conn, uint32_t op, const void *payload, uint32_t len);

#endif
