/* xenbus client over the xenstore ring page. One request in flight at a time (guests are
 * single-threaded; never call these from an event handler). Paths without a leading '/' are
 * relative to the guest's home, /local/domain/<domid>. Every call returns 0 (or a length) or a
 * negative errno: the error xenstored named (-ENOENT, -EACCES, -EAGAIN ...), -ETIMEDOUT when
 * xenstored does not answer within XENBUS_TIMEOUT_NS, -EIO for a broken ring, -ENODEV when the
 * guest has no store ring. */
#ifndef GUEST_XENBUS_H
#define GUEST_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t xenbus_transaction_t;
#define XBT_NIL 0

#define XENBUS_TIMEOUT_NS 10000000000ULL

/* Called by the runtime with the store ring and event channel from boot info. */
int xenbus_init(void *ring, uint32_t port);

/* Value into buf (NUL-terminated); returns its length, -E2BIG when buf is too small. */
int xenbus_read(xenbus_transaction_t t, const char *path, char *buf, size_t len);
int xenbus_write(xenbus_transaction_t t, const char *path, const char *value);
int xenbus_mkdir(xenbus_transaction_t t, const char *path);
int xenbus_rm(xenbus_transaction_t t, const char *path);
/* Children names, each NUL-terminated, packed into buf; returns how many. */
int xenbus_directory(xenbus_transaction_t t, const char *path, char *buf, size_t len);

/* The XenbusState in a state node: Closed when the node is gone (ENOENT) or no longer readable
 * (EACCES: the peer domain's tree went with it), Unknown past Reconfigured, else a negative
 * errno (-EINVAL for a value that is not a number). */
int xenbus_read_state(const char *path);

int xenbus_transaction_start(xenbus_transaction_t *t);
/* Commits (abort = 0) or aborts; -EAGAIN means another writer won: retry the transaction. */
int xenbus_transaction_end(xenbus_transaction_t t, int abort);

/* Watches: xenstored sends one event at once for the path, then one per change below it.
 * With cb set, xenbus_dispatch_watches() calls it for each event of this token; without,
 * events wait for xenbus_read_watch(). */
typedef void (*xenbus_watch_cb)(const char *path, const char *token, void *ctx);
int xenbus_watch(const char *path, const char *token, xenbus_watch_cb cb, void *ctx);
int xenbus_unwatch(const char *path, const char *token);
/* Registers every watch with xenstored again (after a resume in a new domain). */
int xenbus_resume(void);
/* Next queued event of a watch without a callback (blocking up to deadline_ns, 0 = forever);
 * queued events of watches with one run their callback on the way. -ETIMEDOUT at the
 * deadline. */
int xenbus_read_watch(char *path, size_t plen, char *token, size_t tlen, uint64_t deadline_ns);
/* Runs callbacks for queued events that have one; returns how many ran. */
int xenbus_dispatch_watches(void);
/* True when a watch event waits for xenbus_read_watch (pumps the ring and runs callbacks;
 * never blocks, so a wait_until condition may call it). */
bool xenbus_watch_pending(void);

#endif
