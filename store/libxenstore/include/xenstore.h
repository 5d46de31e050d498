/* kxen's libxenstore: the xs_* client API of Xen's xenstore.h (4.17), same names, types and
 * semantics, written for kxen. Link with -lxenstore (libxenstore.so.4).
 *
 * Every call is thread-safe. Calls that fail set errno; those returning pointers return NULL,
 * those returning bool return false. Returned arrays and strings are one malloc'd block: free()
 * the pointer once. */
#ifndef XENSTORE_H
#define XENSTORE_H

#include <xenstore_lib.h>

#define XBT_NULL 0

/* xs_open flags. READONLY and SOCKETONLY are accepted for compatibility. */
#define XS_OPEN_READONLY (1UL << 0)
#define XS_OPEN_SOCKETONLY (1UL << 1)
/* Once xs_unwatch(path, token) returns, queued events for that token under path are dropped
 * and none are delivered later (requires unique (path, token) pairs). */
#define XS_UNWATCH_FILTER (1UL << 2)

struct xs_handle;
typedef uint32_t xs_transaction_t;

/* Connect: the daemon socket first, then (without XS_OPEN_SOCKETONLY) the xenbus device. */
struct xs_handle *xs_open(unsigned long flags);
/* Disconnect and free; NULL is accepted. */
void xs_close(struct xs_handle *xsh);

/* Older names for xs_open(0) / xs_close. */
struct xs_handle *xs_daemon_open(void);
struct xs_handle *xs_domain_open(void);
struct xs_handle *xs_daemon_open_readonly(void);
void xs_daemon_close(struct xs_handle *);
/* In a forked child: drop the inherited handle without talking to the daemon. */
void xs_daemon_destroy_postfork(struct xs_handle *);

/* Children of path; *num receives their count. */
char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num);
/* Value of path, NUL-terminated; *len (may be NULL) receives its length without the NUL. */
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len);
/* Set path to len bytes of data, creating it and missing parents. */
bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
              unsigned int len);
/* Create path (no error when it exists). */
bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path);
/* Remove path and everything below it. */
bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
/* Kept for ABI compatibility: always false. */
bool xs_restrict(struct xs_handle *h, unsigned domid);

/* Permissions of path: element 0 is the owner (its perms apply to unlisted domains). */
struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                                          unsigned int *num);
/* Replace the permissions of path with perms[0..num_perms). */
bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                        struct xs_permissions *perms, unsigned int num_perms);

/* Watch path and its subtree; events carry token. Fires once at registration. */
bool xs_watch(struct xs_handle *h, const char *path, const char *token);
/* An fd that is readable while watch events are queued. */
int xs_fileno(struct xs_handle *h);
/* Next queued event without blocking: ret[XS_WATCH_PATH], ret[XS_WATCH_TOKEN]; NULL with
 * errno EAGAIN when none is queued. */
char **xs_check_watch(struct xs_handle *h);
/* Next event, blocking until one arrives; *num receives the element count. */
char **xs_read_watch(struct xs_handle *h, unsigned int *num);
/* Remove a watch registered with the same path and token. */
bool xs_unwatch(struct xs_handle *h, const char *path, const char *token);

/* kxen extension, not in Xen's API: n requests that change the store sent together, which
 * the daemon answers in order, so they cost one round trip instead of n. ops[i].type is
 * XS_WRITE (data: the value), XS_SET_PERMS (data: the permission strings as
 * xs_perm_to_string renders them, each NUL-terminated), XS_MKDIR or XS_RM (no data);
 * errs[i] receives 0 or the errno op i failed with. False with errno when an op is malformed
 * (EINVAL, E2BIG: nothing is sent) or the connection failed (which ops were done is then
 * unknown: send them inside a transaction). On a handle whose reader thread runs (after
 * xs_watch) they go one by one. */
struct xs_request_op {
    enum xsd_sockmsg_type type;
    const char *path;
    const void *data;
    unsigned int len;
};
bool xs_request_batch(struct xs_handle *h, xs_transaction_t t, const struct xs_request_op *ops,
                      unsigned int n, int *errs);

/* Start a transaction: XBT_NULL (0) on failure. */
xs_transaction_t xs_transaction_start(struct xs_handle *h);
/* Commit (abort false) or discard a transaction; EAGAIN means it conflicted: retry it. */
bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort);

/* Toolstack calls about domains (privileged). */
bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
                         unsigned int eventchn);
bool xs_set_target(struct xs_handle *h, unsigned int domid, unsigned int target);
bool xs_resume_domain(struct xs_handle *h, unsigned int domid);
bool xs_release_domain(struct xs_handle *h, unsigned int domid);
char *xs_get_domain_path(struct xs_handle *h, unsigned int domid);
bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid);

/* True when child equals parent or lies below it (pure string comparison). */
bool xs_path_is_subpath(const char *parent, const char *child);

/* XS_CONTROL: cmd plus len bytes of data; returns the daemon's answer string. */
char *xs_control_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len);
/* Older name of xs_control_command. */
char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len);

/* The suspend event channel a guest advertised in the store, or -1. */
int xs_suspend_evtchn_port(int domid);

#endif
