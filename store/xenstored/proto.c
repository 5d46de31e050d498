/* The xenstore wire protocol: one handler per message type, found through a table that also
 * says whether the type takes a transaction and whether only dom0 may send it. Every string
 * a peer sends is framed by get_args() and every path, domid and perm goes through path.c. */
#include "xenstored.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

/* Caps for dom0 clients, which have no quota: keep a runaway tool from eating the daemon. */
#define XS_PRIV_WATCH_MAX 65536u
#define XS_PRIV_TXN_MAX 4096u

struct req {
    struct xs_conn *conn;
    const struct xsd_sockmsg *hdr;
    char *buf;
    uint32_t len;
    struct xs_txn *tx;
    struct xs_ctx ctx;
    /* the reply */
    const void *out;
    size_t outlen;
    bool sent; /* handler sent its own reply */
    char small[256];
};

const char *xs_errname(int err)
{
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (xsd_errors[i].errnum == err)
            return xsd_errors[i].errstring;
    return "EIO";
}

/* Splits the payload into NUL-terminated strings; returns how many (at most max). The bytes
 * after the last NUL, if any, are not a string. */
static int get_args(struct req *r, char **argv, int max)
{
    int n = 0;
    uint32_t i = 0;
    while (i < r->len && n < max) {
        char *s = r->buf + i;
        size_t l = strnlen(s, r->len - i);
        if (i + l >= r->len)
            break; /* no terminator */
        argv[n++] = s;
        i += (uint32_t)l + 1;
    }
    return n;
}

/* Exactly one NUL-terminated string filling the payload. */
static int one_arg(struct req *r, char **arg)
{
    if (r->len == 0 || r->buf[r->len - 1] != '\0' || strlen(r->buf) + 1 != r->len)
        return -EINVAL;
    *arg = r->buf;
    return 0;
}

static void reply_str(struct req *r, const char *s)
{
    snprintf(r->small, sizeof(r->small), "%s", s);
    r->out = r->small;
    r->outlen = strlen(r->small) + 1;
}

static void reply_ok(struct req *r)
{
    reply_str(r, "OK");
}

static int canon(struct req *r, const char *in, bool special, char *buf)
{
    return xs_path_canonical(r->conn->domid, !r->ctx.privileged, r->conn->d->quota.path_max, in,
                             special, buf, XENSTORE_ABS_PATH_MAX + 2);
}

#define PATHBUF char path[XENSTORE_ABS_PATH_MAX + 2]

/* The request takes exactly one path: frame it, canonicalise it and check that the connection
 * holds `want` on the node. -ENOENT means the path is valid but the node does not exist. */
static int one_path(struct req *r, char *path, unsigned want, struct xs_view *v)
{
    char *arg;
    int e;
    if ((e = one_arg(r, &arg)) || (e = canon(r, arg, false, path)))
        return e;
    return xs_store_check(&r->ctx, path, want, v);
}

static int do_read(struct req *r)
{
    PATHBUF;
    struct xs_view v;
    int e = one_path(r, path, XS_PERM_READ, &v);
    if (e)
        return e;
    r->out = v.value;
    r->outlen = v.vlen;
    return 0;
}

static int do_write(struct req *r)
{
    char *argv[1];
    PATHBUF;
    struct xs_view v;
    if (get_args(r, argv, 1) != 1)
        return -EINVAL;
    int e = canon(r, argv[0], false, path);
    if (e)
        return e;
    uint32_t off = (uint32_t)strlen(argv[0]) + 1;
    e = xs_store_check(&r->ctx, path, XS_PERM_WRITE, &v);
    if (e && e != -ENOENT)
        return e;
    if ((e = xs_store_write(&r->ctx, path, r->buf + off, r->len - off)))
        return e;
    reply_ok(r);
    return 0;
}

static int do_mkdir(struct req *r)
{
    PATHBUF;
    struct xs_view v;
    int e = one_path(r, path, XS_PERM_WRITE, &v);
    if (e == -ENOENT)
        e = xs_store_mkdir(&r->ctx, path);
    if (!e)
        reply_ok(r);
    return e;
}

static int do_rm(struct req *r)
{
    PATHBUF;
    struct xs_view v;
    int e = one_path(r, path, XS_PERM_WRITE, &v);
    if (e == -ENOENT) {
        /* Removing what is already gone is fine as long as its parent exists (Xen's rule). */
        char *s = strrchr(path, '/');
        if (s == path)
            s[1] = '\0';
        else
            *s = '\0';
        if (xs_store_get(&r->ctx, path, &v) == 0) {
            reply_ok(r);
            return 0;
        }
        return -ENOENT;
    }
    if (e || (e = xs_store_rm(&r->ctx, path)))
        return e;
    reply_ok(r);
    return 0;
}

/* The child list of the node `arg` names, which the connection must be allowed to read. The
 * list belongs to the node (or the transaction's copy of it), not to the path buffer. */
static int list_children(struct req *r, const char *arg, const char **list, size_t *len,
                         uint64_t *gen)
{
    PATHBUF;
    struct xs_view v;
    int e;
    if ((e = canon(r, arg, false, path)) || (e = xs_store_check(&r->ctx, path, XS_PERM_READ, &v)))
        return e;
    return xs_store_dir(&r->ctx, path, list, len, gen);
}

static int do_directory(struct req *r)
{
    char *arg;
    const char *list;
    size_t len;
    uint64_t gen;
    int e;
    if ((e = one_arg(r, &arg)) || (e = list_children(r, arg, &list, &len, &gen)))
        return e;
    if (len > XENSTORE_PAYLOAD_MAX)
        return -E2BIG;
    r->out = list;
    r->outlen = len;
    return 0;
}

/* Reply: "<generation>\0" then the whole child names from the byte offset that fit, then one
 * more "\0" once the list is complete. Clients restart when the generation changes. */
static int do_directory_part(struct req *r)
{
    char *argv[2];
    const char *list;
    size_t len;
    uint64_t gen;
    int e;
    if (get_args(r, argv, 2) != 2 || strlen(argv[0]) + strlen(argv[1]) + 2 != r->len)
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long off = strtoul(argv[1], &end, 10);
    if (!argv[1][0] || *end || errno || argv[1][0] == '-')
        return -EINVAL;
    if ((e = list_children(r, argv[0], &list, &len, &gen)))
        return e;
    if (off > len)
        return -EINVAL;
    char *out = malloc(XENSTORE_PAYLOAD_MAX);
    if (!out)
        return -ENOMEM;
    int glen = snprintf(out, 32, "%llu", (unsigned long long)gen) + 1;
    size_t room = XENSTORE_PAYLOAD_MAX - (size_t)glen - 1, used = 0;
    while (off + used < len) {
        size_t l = strlen(list + off + used) + 1;
        if (used + l > room)
            break;
        used += l;
    }
    memcpy(out + glen, list + off, used);
    size_t total = (size_t)glen + used;
    if (off + used == len)
        out[total++] = '\0';
    xs_conn_send(r->conn, XS_DIRECTORY_PART, r->hdr->req_id, r->hdr->tx_id, out, total, NULL, 0);
    free(out);
    r->sent = true;
    return 0;
}

static int special_perms(struct xs_daemon *d, const char *path, struct xs_perm **p, uint32_t **n)
{
    if (strcmp(path, "@introduceDomain") == 0) {
        *p = d->special_perms[0];
        *n = &d->special_nperms[0];
    } else if (strcmp(path, "@releaseDomain") == 0) {
        *p = d->special_perms[1];
        *n = &d->special_nperms[1];
    } else {
        return -ENOENT;
    }
    return 0;
}

static int format_perms(struct req *r, const struct xs_perm *p, uint32_t n)
{
    char *out = malloc(n * 16 + 1), *s = out;
    if (!out)
        return -ENOMEM;
    static const char letters[] = "nrwb";
    for (uint32_t i = 0; i < n; i++)
        s += sprintf(s, "%c%u", letters[p[i].perm & 3], p[i].domid) + 1;
    xs_conn_send(r->conn, XS_GET_PERMS, r->hdr->req_id, r->hdr->tx_id, out, (size_t)(s - out), NULL,
                 0);
    free(out);
    r->sent = true;
    return 0;
}

static int do_get_perms(struct req *r)
{
    char *arg;
    PATHBUF;
    struct xs_view v;
    int e;
    if ((e = one_arg(r, &arg)) || (e = canon(r, arg, true, path)))
        return e;
    if (xs_path_is_special(path)) {
        struct xs_perm *p;
        uint32_t *n;
        if ((e = special_perms(r->conn->d, path, &p, &n)))
            return e;
        return format_perms(r, p, *n);
    }
    if ((e = xs_store_check(&r->ctx, path, XS_PERM_READ, &v)))
        return e;
    return format_perms(r, v.perms, v.nperms);
}

static int do_set_perms(struct req *r)
{
    char *argv[XENSTORE_PAYLOAD_MAX / 2];
    PATHBUF;
    struct xs_view v;
    int n = get_args(r, argv, (int)(sizeof(argv) / sizeof(argv[0]))), e;
    if (n < 2)
        return -EINVAL;
    if ((e = canon(r, argv[0], true, path)))
        return e;
    uint32_t np = (uint32_t)n - 1;
    if (!r->ctx.privileged && np > r->conn->d->quota.perm_nb)
        return -ENOSPC;
    struct xs_perm *perms = calloc(np, sizeof(*perms));
    if (!perms)
        return -ENOMEM;
    for (uint32_t i = 0; i < np; i++)
        if ((e = xs_perm_parse(argv[i + 1], &perms[i])))
            goto out;
    if (xs_path_is_special(path)) {
        struct xs_perm *sp;
        uint32_t *sn;
        if (!r->ctx.privileged)
            e = -EACCES;
        else if (!(e = special_perms(r->conn->d, path, &sp, &sn)) && np > 8)
            e = -ENOSPC;
        if (!e) {
            memcpy(sp, perms, np * sizeof(*perms));
            *sn = np;
        }
        goto out;
    }
    if ((e = xs_store_check(&r->ctx, path, XS_PERM_OWNER, &v)))
        goto out;
    /* An unprivileged owner may share its node but not give it away. */
    if (!r->ctx.privileged && perms[0].domid != v.perms[0].domid) {
        e = -EPERM;
        goto out;
    }
    e = xs_store_set_perms(&r->ctx, path, perms, np);
out:
    free(perms);
    if (!e)
        reply_ok(r);
    return e;
}

/* WATCH and UNWATCH carry "<path>\0<token>\0"; the path may be relative or special. */
static int watch_args(struct req *r, char **argv, char *path)
{
    if (get_args(r, argv, 2) != 2)
        return -EINVAL;
    return canon(r, argv[0], true, path);
}

static int do_watch(struct req *r)
{
    char *argv[2];
    PATHBUF;
    int e;
    if ((e = watch_args(r, argv, path)))
        return e;
    uint32_t max = r->ctx.privileged ? XS_PRIV_WATCH_MAX : r->conn->d->quota.watch_nb;
    if (r->conn->nwatches >= max)
        return -E2BIG;
    bool relative = argv[0][0] != '/' && argv[0][0] != '@';
    if ((e = xs_watch_add(r->conn->d->watches, r->conn, path, argv[1], relative)))
        return e;
    /* The ack first, then the event every new watch gets once. */
    xs_conn_send(r->conn, XS_WATCH, r->hdr->req_id, r->hdr->tx_id, "OK", 3, NULL, 0);
    xs_watch_send(r->conn, path, relative, argv[1]);
    r->sent = true;
    return 0;
}

static int do_unwatch(struct req *r)
{
    char *argv[2];
    PATHBUF;
    int e;
    if ((e = watch_args(r, argv, path)) ||
        (e = xs_watch_remove(r->conn->d->watches, r->conn, path, argv[1])))
        return e;
    reply_ok(r);
    return 0;
}

static struct xs_txn **txn_slot(struct xs_conn *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->ntxns; i++)
        if (xs_txn_id(c->txns[i]) == id)
            return &c->txns[i];
    return NULL;
}

static int do_transaction_start(struct req *r)
{
    struct xs_conn *c = r->conn;
    if (r->tx)
        return -EBUSY;
    uint32_t max = r->ctx.privileged ? XS_PRIV_TXN_MAX : c->d->quota.transaction;
    if (c->ntxns >= max)
        return -ENOSPC;
    if (c->ntxns == c->captxns) {
        uint32_t cap = c->captxns ? c->captxns * 2 : 4;
        struct xs_txn **t = realloc(c->txns, cap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        c->txns = t;
        c->captxns = cap;
    }
    uint32_t id;
    do {
        id = c->next_txid++;
    } while (id == 0 || txn_slot(c, id));
    struct xs_txn *tx = xs_txn_new(c->d, id, &c->txn_bytes);
    if (!tx)
        return -ENOMEM;
    c->txns[c->ntxns++] = tx;
    snprintf(r->small, sizeof(r->small), "%u", id);
    r->out = r->small;
    r->outlen = strlen(r->small) + 1;
    return 0;
}

static int do_transaction_end(struct req *r)
{
    char *arg;
    int e;
    if (!r->tx)
        return -ENOENT;
    if ((e = one_arg(r, &arg)))
        return e;
    if (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0)
        return -EINVAL;
    struct xs_conn *c = r->conn;
    struct xs_txn **slot = txn_slot(c, xs_txn_id(r->tx));
    *slot = c->txns[--c->ntxns];
    struct xs_ctx ctx = xs_conn_ctx(c, NULL);
    if ((e = xs_txn_end(&ctx, r->tx, arg[0] == 'T')))
        return e;
    reply_ok(r);
    return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || !*s || s[0] == '-')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int do_introduce(struct req *r)
{
    char *argv[3];
    uint32_t domid;
    uint64_t gfn, port;
    int e;
    if (get_args(r, argv, 3) != 3)
        return -EINVAL;
    if ((e = xs_domid_parse(argv[0], &domid)) || (e = parse_u64(argv[1], UINT64_MAX, &gfn)) ||
        (e = parse_u64(argv[2], UINT32_MAX, &port)))
        return e;
    if ((e = xs_domain_introduce(r->conn->d, domid, gfn, (uint32_t)port)))
        return e;
    reply_ok(r);
    return 0;
}

static int domid_arg(struct req *r, uint32_t *domid)
{
    char *arg;
    int e = one_arg(r, &arg);
    return e ? e : xs_domid_parse(arg, domid);
}

/* A request naming one domain: its id, and what xenstored knows of it (NULL: nothing). */
static int domain_arg(struct req *r, uint32_t *domid, struct xs_domain **dom)
{
    int e = domid_arg(r, domid);
    if (!e)
        *dom = xs_domain_get(r->conn->d, *domid, false);
    return e;
}

static int do_release(struct req *r)
{
    uint32_t domid;
    int e;
    if ((e = domid_arg(r, &domid)) || (e = xs_domain_release(r->conn->d, domid)))
        return e;
    reply_ok(r);
    return 0;
}

static int do_get_domain_path(struct req *r)
{
    uint32_t domid;
    int e = domid_arg(r, &domid);
    if (e)
        return e;
    snprintf(r->small, sizeof(r->small), "/local/domain/%u", domid);
    r->out = r->small;
    r->outlen = strlen(r->small) + 1;
    return 0;
}

static int do_is_domain_introduced(struct req *r)
{
    uint32_t domid;
    struct xs_domain *dom;
    int e = domain_arg(r, &domid, &dom);
    if (!e)
        reply_str(r, domid == 0 || (dom && dom->introduced) ? "T" : "F");
    return e;
}

static int do_resume(struct req *r)
{
    uint32_t domid;
    struct xs_domain *dom;
    int e = domain_arg(r, &domid, &dom);
    if (e)
        return e;
    if (!dom || !dom->introduced)
        return -ENOENT;
    dom->shutdown = false;
    reply_ok(r);
    return 0;
}

static int do_set_target(struct req *r)
{
    char *argv[2];
    uint32_t domid, target;
    int e;
    if (get_args(r, argv, 2) != 2)
        return -EINVAL;
    if ((e = xs_domid_parse(argv[0], &domid)) || (e = xs_domid_parse(argv[1], &target)))
        return e;
    struct xs_domain *dom = xs_domain_get(r->conn->d, domid, false);
    struct xs_domain *tgt = xs_domain_get(r->conn->d, target, false);
    if (!dom || !dom->introduced || !tgt || !tgt->introduced)
        return -ENOENT;
    dom->target = target;
    reply_ok(r);
    return 0;
}

static int do_reset_watches(struct req *r)
{
    struct xs_conn *c = r->conn;
    xs_watch_remove_conn(c->d->watches, c);
    for (uint32_t i = 0; i < c->ntxns; i++)
        xs_txn_free(c->txns[i]);
    c->ntxns = 0;
    reply_ok(r);
    return 0;
}

static int do_control(struct req *r)
{
    char *argv[16];
    int n = get_args(r, argv, 16);
    if (n < 1)
        return -EINVAL;
    char *out = malloc(XENSTORE_PAYLOAD_MAX);
    if (!out)
        return -ENOMEM;
    int e = xs_control(r->conn, argv, n, out, XENSTORE_PAYLOAD_MAX);
    if (e == 0)
        xs_conn_send(r->conn, XS_CONTROL, r->hdr->req_id, r->hdr->tx_id, out, strlen(out) + 1, NULL,
                     0);
    free(out);
    r->sent = e == 0;
    return e;
}

#define F_NOTID 1 /* ignores tx_id */
#define F_PRIV 2  /* dom0 only */

static const struct {
    const char *name;
    int (*fn)(struct req *r);
    unsigned flags;
} handlers[XS_TYPE_COUNT] = {
    [XS_CONTROL] = {"CONTROL", do_control, F_NOTID | F_PRIV},
    [XS_DIRECTORY] = {"DIRECTORY", do_directory, 0},
    [XS_READ] = {"READ", do_read, 0},
    [XS_GET_PERMS] = {"GET_PERMS", do_get_perms, 0},
    [XS_WATCH] = {"WATCH", do_watch, F_NOTID},
    [XS_UNWATCH] = {"UNWATCH", do_unwatch, F_NOTID},
    [XS_TRANSACTION_START] = {"TRANSACTION_START", do_transaction_start, 0},
    [XS_TRANSACTION_END] = {"TRANSACTION_END", do_transaction_end, 0},
    [XS_INTRODUCE] = {"INTRODUCE", do_introduce, F_NOTID | F_PRIV},
    [XS_RELEASE] = {"RELEASE", do_release, F_NOTID | F_PRIV},
    [XS_GET_DOMAIN_PATH] = {"GET_DOMAIN_PATH", do_get_domain_path, F_NOTID},
    [XS_WRITE] = {"WRITE", do_write, 0},
    [XS_MKDIR] = {"MKDIR", do_mkdir, 0},
    [XS_RM] = {"RM", do_rm, 0},
    [XS_SET_PERMS] = {"SET_PERMS", do_set_perms, 0},
    [XS_IS_DOMAIN_INTRODUCED] = {"IS_DOMAIN_INTRODUCED", do_is_domain_introduced, F_NOTID | F_PRIV},
    [XS_RESUME] = {"RESUME", do_resume, F_NOTID | F_PRIV},
    [XS_SET_TARGET] = {"SET_TARGET", do_set_target, F_NOTID | F_PRIV},
    [XS_RESET_WATCHES] = {"RESET_WATCHES", do_reset_watches, F_NOTID},
    [XS_DIRECTORY_PART] = {"DIRECTORY_PART", do_directory_part, 0},
};

void xs_proto_handle(struct xs_conn *conn, const struct xsd_sockmsg *hdr, char *buf)
{
    struct req r = {.conn = conn, .hdr = hdr, .buf = buf, .len = hdr->len};
    int e = 0;
    const char *name = hdr->type < XS_TYPE_COUNT ? handlers[hdr->type].name : NULL;
    xs_trace(conn->d, "IN  conn %llu %s(%u) req %u tx %u len %u", (unsigned long long)conn->id,
             name ? name : "?", hdr->type, hdr->req_id, hdr->tx_id, hdr->len);
    if (!name) {
        e = -EINVAL;
    } else {
        unsigned flags = handlers[hdr->type].flags;
        if ((flags & F_PRIV) && !xs_conn_privileged(conn)) {
            e = -EACCES;
        } else if (!(flags & F_NOTID) && hdr->tx_id) {
            struct xs_txn **slot = txn_slot(conn, hdr->tx_id);
            if (!slot)
                e = -ENOENT;
            else
                r.tx = *slot;
        }
        if (!e) {
            r.ctx = xs_conn_ctx(conn, r.tx);
            e = handlers[hdr->type].fn(&r);
        }
    }
    if (e) {
        const char *en = xs_errname(-e);
        xs_conn_send(conn, XS_ERROR, hdr->req_id, hdr->tx_id, en, strlen(en) + 1, NULL, 0);
    } else if (!r.sent) {
        xs_conn_send(conn, hdr->type, hdr->req_id, hdr->tx_id, r.out, r.outlen, NULL, 0);
    }
}
