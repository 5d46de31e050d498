/* xenstored internals shared by the daemon's files: the node tree, transactions, watches,
 * domains and connections. Nothing here is a public interface except the ring backend
 * (ring_backend.h). */
#ifndef XENSTORED_H
#define XENSTORED_H

#include <errno.h> /* before xs_wire.h: its error table needs the errno values */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kxen/io/xs_wire.h>

struct event_base;
struct evbuffer;
struct event;
struct xs_conn;
struct xs_txn;
struct xs_daemon;

/* ---- permissions (perms.c) ---- */
#define XS_PERM_NONE 0
#define XS_PERM_READ 1
#define XS_PERM_WRITE 2
#define XS_PERM_OWNER 4 /* only ever a "wanted" bit, never stored */
#define XS_DOMID_FIRST_RESERVED 0x7ff0u

struct xs_perm {
    uint32_t domid;
    uint8_t perm; /* XS_PERM_READ | XS_PERM_WRITE */
};

/* Parses one "<n|r|w|b><domid>" string. Returns 0 or -EINVAL. */
int xs_perm_parse(const char *s, struct xs_perm *out);
/* Parses a domain id ("0".."32751"). Returns 0 or -EINVAL. */
int xs_domid_parse(const char *s, uint32_t *out);
/* Which of want's bits the caller (domid, target or XS_NO_TARGET) has on a node. */
#define XS_NO_TARGET UINT32_MAX
unsigned xs_perm_for(uint32_t domid, uint32_t target, const struct xs_perm *p, uint32_t n,
                     unsigned want);

/* ---- paths (path.c) ---- */
/* Turns a request path into an absolute one in buf (relative paths live under the domain's
 * home /local/domain/<domid>). Special "@" names are accepted only if allow_special.
 * Returns 0, or -EINVAL for a malformed path. */
int xs_path_canonical(uint32_t domid, bool unprivileged, uint32_t path_max, const char *in,
                      bool allow_special, char *buf, size_t len);
bool xs_path_is_special(const char *path);
/* True when child is path itself or below it. */
bool xs_path_is_child(const char *child, const char *path);

/* ---- the main tree (tree.c) ---- */
struct xs_node {
    char *name; /* last component; "" for the root */
    struct xs_node *parent;
    char *value;
    uint32_t vlen;
    uint32_t nperms;
    struct xs_perm *perms; /* perms[0] is the owner and the default for everyone else */
    uint64_t gen;          /* global generation of the last change to value, perms or children */
    /* children: insertion-ordered list for listings plus a hash table for lookups */
    struct xs_node *first, *last, *prev, *next, *hnext;
    struct xs_node **htab;
    uint32_t hsize, nchildren;
    uint32_t child_bytes; /* sum of strlen(name) + 1 over children */
    char *dircache;       /* children as "a\0b\0", valid while dircache_gen == gen */
    uint64_t dircache_gen;
};

/* Called when a node is created (+1), deleted (-1) or changes owner. */
typedef void (*xs_account_fn)(void *opaque, uint32_t domid, int delta);

struct xs_tree {
    struct xs_node *root;
    uint64_t gen; /* bumped on every change */
    uint64_t nnodes;
    xs_account_fn account;
    void *account_opaque;
};

int xs_tree_init(struct xs_tree *t);
void xs_tree_free(struct xs_tree *t);
struct xs_node *xs_tree_lookup(struct xs_tree *t, const char *path);
/* Creates path (parents must exist) with the given perms and an empty value. */
int xs_tree_create(struct xs_tree *t, const char *path, const struct xs_perm *p, uint32_t n,
                   struct xs_node **out);
int xs_tree_set_value(struct xs_tree *t, struct xs_node *n, const char *v, uint32_t len);
int xs_tree_set_perms(struct xs_tree *t, struct xs_node *n, const struct xs_perm *p, uint32_t n2);
/* Removes a node and its subtree (not the root). */
void xs_tree_remove(struct xs_tree *t, struct xs_node *n);
void xs_tree_remove_children(struct xs_tree *t, struct xs_node *n);
struct xs_node *xs_tree_child(struct xs_node *n, const char *name, size_t len);
/* The "a\0b\0" listing of n's children (cached until n changes). */
int xs_tree_dir(struct xs_node *n, const char **buf, size_t *len);
/* The node after n in a pre-order walk of the whole tree, NULL after the last: whole-tree walks
 * iterate instead of recursing to a depth that clients choose. */
struct xs_node *xs_tree_next(struct xs_node *n);
/* Full path of n into buf. */
int xs_tree_path(const struct xs_node *n, char *buf, size_t len);
/* Gives every node owned by domid to dom0 (a released domain's orphans). */
void xs_tree_chown_all(struct xs_tree *t, uint32_t from, uint32_t to);

/* ---- node views: the tree as seen by one request, in or out of a transaction (store.c) ---- */
struct xs_view {
    bool exists;
    const char *value;
    uint32_t vlen;
    const struct xs_perm *perms;
    uint32_t nperms;
    uint32_t child_bytes; /* size of the children listing */
    uint64_t gen;
};

/* The caller of a store operation. */
struct xs_ctx {
    struct xs_daemon *d;
    struct xs_conn *conn; /* NULL for internal callers (tests) = dom0 */
    struct xs_txn *txn;   /* NULL outside transactions */
    uint32_t domid;
    uint32_t target;
    bool privileged;
};

int xs_store_get(struct xs_ctx *c, const char *path, struct xs_view *v);
int xs_store_dir(struct xs_ctx *c, const char *path, const char **buf, size_t *len, uint64_t *gen);
/* Checks want on path; -ENOENT if path is missing and the caller may see that, else -EACCES. */
int xs_store_check(struct xs_ctx *c, const char *path, unsigned want, struct xs_view *v);
int xs_store_write(struct xs_ctx *c, const char *path, const char *val, uint32_t len);
int xs_store_mkdir(struct xs_ctx *c, const char *path);
int xs_store_rm(struct xs_ctx *c, const char *path);
int xs_store_set_perms(struct xs_ctx *c, const char *path, const struct xs_perm *p, uint32_t n);

/* ---- transactions (txn.c) ---- */
/* account: the connection's counter of bytes its transactions hold (for the quota). */
struct xs_txn *xs_txn_new(struct xs_daemon *d, uint32_t id, uint64_t *account);
void xs_txn_free(struct xs_txn *tx);
uint32_t xs_txn_id(const struct xs_txn *tx);
/* Commits (true) or aborts. Returns 0, -EAGAIN on conflict or another -errno. Frees tx. */
int xs_txn_end(struct xs_ctx *c, struct xs_txn *tx, bool commit);
/* Internal to store.c / txn.c */
int xs_txn_get(struct xs_ctx *c, const char *path, struct xs_view *v);
int xs_txn_dir(struct xs_ctx *c, const char *path, const char **buf, size_t *len, uint64_t *gen);
int xs_txn_create(struct xs_ctx *c, const char *path, const struct xs_perm *p, uint32_t n);
int xs_txn_set(struct xs_ctx *c, const char *path, const char *val, uint32_t len, bool set_val,
               const struct xs_perm *p, uint32_t n);
int xs_txn_rm(struct xs_ctx *c, const char *path);
uint32_t xs_txn_nodes(const struct xs_txn *tx);
int xs_txn_entry_delta(const struct xs_txn *tx);

/* ---- watches (watch.c) ---- */
struct xs_watch;
struct xs_watches;
struct xs_watches *xs_watches_new(void);
void xs_watches_free(struct xs_watches *w);
/* Registers a watch; -EEXIST for a duplicate. The first event is queued by the caller. */
int xs_watch_add(struct xs_watches *w, struct xs_conn *conn, const char *abs_path,
                 const char *token, bool relative);
int xs_watch_remove(struct xs_watches *w, struct xs_conn *conn, const char *abs_path,
                    const char *token);
void xs_watch_remove_conn(struct xs_watches *w, struct xs_conn *conn);
/* Fires the watches on path and its parents; recursive also fires those below path (rm).
 * perms are the node's permissions for the read check of unprivileged watchers. */
void xs_watch_fire(struct xs_daemon *d, const char *path, bool recursive,
                   const struct xs_perm *perms, uint32_t nperms);
/* Sends one event for a watch (path as the watcher registered it). */
void xs_watch_send(struct xs_conn *conn, const char *abs_path, bool relative, const char *token);

/* ---- quotas and domains (domain.c) ---- */
struct xs_quota {
    uint32_t entry_nb;     /* nodes owned per domain */
    uint32_t entry_size;   /* bytes of one node: value + children names + 5 per perm */
    uint32_t watch_nb;     /* watches per connection */
    uint32_t transaction;  /* open transactions per connection */
    uint32_t perm_nb;      /* permission entries per node */
    uint32_t path_max;     /* path chars below a domain's home */
    uint32_t trans_nodes;  /* nodes touched by one transaction */
    uint32_t trans_memory; /* bytes a connection's open transactions may copy */
    uint32_t outstanding;  /* requests whose replies are still queued */
};
void xs_quota_defaults(struct xs_quota *q);
/* Sets a quota by Xen's -Q name ("entry-nb", "transaction-nodes", "outstanding", ...). */
int xs_quota_set(struct xs_quota *q, const char *name, const char *value);
/* Whether NAME is one of the quota names xs_quota_set takes (for precise option errors). */
bool xs_quota_known(const char *name);
int xs_quota_format(const struct xs_quota *q, char *buf, size_t len);

struct xs_domain {
    uint32_t domid;
    bool introduced;
    bool shutdown;
    uint32_t target; /* XS_NO_TARGET if none */
    uint64_t gfn;
    uint32_t port;
    int32_t nbentry; /* nodes this domain owns */
    struct xs_conn *conn;
    struct xs_domain *hnext;
};
struct xs_domain *xs_domain_get(struct xs_daemon *d, uint32_t domid, bool create);
void xs_domain_account(void *daemon, uint32_t domid, int delta);
int xs_domain_introduce(struct xs_daemon *d, uint32_t domid, uint64_t gfn, uint32_t port);
int xs_domain_release(struct xs_daemon *d, uint32_t domid);
void xs_domains_free(struct xs_daemon *d);

/* ---- connections (conn.c) ---- */
struct xs_conn_ops {
    const char *name;
    /* Moves as much of conn->out as the transport takes now; -errno closes the connection. */
    int (*flush)(struct xs_conn *conn);
    /* Releases the transport (fd, ring mapping). */
    void (*destroy)(struct xs_conn *conn);
    /* Optional: the peer broke the framing and is being disconnected. */
    void (*protocol_error)(struct xs_conn *conn);
};

struct xs_conn {
    struct xs_daemon *d;
    const struct xs_conn_ops *ops;
    void *transport;
    uint32_t domid;
    bool closing;
    struct evbuffer *in;
    struct evbuffer *out;
    struct xs_txn **txns;
    uint32_t ntxns, captxns;
    uint32_t next_txid;
    uint32_t nwatches;
    uint64_t txn_bytes; /* held by its open transactions */
    struct xs_conn *next, *prev;
    uint64_t id;
};

struct xs_conn *xs_conn_new(struct xs_daemon *d, const struct xs_conn_ops *ops, void *transport,
                            uint32_t domid);
/* Feeds the bytes received so far to the protocol: every complete request is handled. */
void xs_conn_process(struct xs_conn *conn);
/* Queues one message (header + payload) for the peer. */
void xs_conn_send(struct xs_conn *conn, uint32_t type, uint32_t req_id, uint32_t tx_id,
                  const void *a, size_t alen, const void *b, size_t blen);
/* Closes now (if idle) or once the current handler returns. */
void xs_conn_close(struct xs_conn *conn);
void xs_conn_free(struct xs_conn *conn);
/* Transports call this once they moved queued output: resumes a peer stalled on its quota. */
void xs_conn_output_drained(struct xs_conn *conn);
struct xs_ctx xs_conn_ctx(struct xs_conn *conn, struct xs_txn *tx);
bool xs_conn_privileged(const struct xs_conn *conn);

/* ---- the protocol (proto.c, control.c) ---- */
/* Handles one request whose payload is in buf (len bytes, followed by one extra NUL). */
void xs_proto_handle(struct xs_conn *conn, const struct xsd_sockmsg *hdr, char *buf);
int xs_control(struct xs_conn *conn, char **argv, int argc, char *reply, size_t rlen);
const char *xs_errname(int err);

/* ---- the daemon (daemon.c) ---- */
struct xs_ring_backend;
struct xs_daemon {
    struct event_base *base;
    struct xs_tree tree;
    struct xs_watches *watches;
    struct xs_quota quota;
    struct xs_domain **domtab;
    uint32_t domtab_size;
    struct xs_conn *conns;
    uint64_t next_conn_id;
    const struct xs_ring_backend *ring_backend;
    void *trace; /* FILE * for -T */
    bool trace_on;
    uint64_t stats_requests;
    /* Connections that got output (watch events) while a request was being handled. */
    uint32_t handling;
    struct xs_conn **pending;
    uint32_t npending, cappending;
    /* permissions of the special watch nodes @introduceDomain and @releaseDomain */
    struct xs_perm special_perms[2][8];
    uint32_t special_nperms[2];
};

int xs_daemon_init(struct xs_daemon *d, struct event_base *base);
void xs_daemon_fini(struct xs_daemon *d);
/* Verifies the tree's links and counts and every domain's node count; msg says what is wrong
 * (or "OK: N nodes"). Returns 0 or -EIO. O(nodes): for tests and "xenstore-control check". */
int xs_daemon_check(struct xs_daemon *d, char *msg, size_t len);
void xs_trace(struct xs_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
