/* libxenstore requests: one function per xs_* call, each a request built from strings and a
 * reply parsed into the shape Xen's API returns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_internal.h"

/* Largest listing xs_directory assembles from XS_DIRECTORY_PART slices (names + NULs). */
#define XS_DIRECTORY_MAX_BYTES (64u << 20)

#define XS_IOV_STR(s) ((struct iovec){.iov_base = (void *)(s), .iov_len = strlen(s) + 1})

/* A request whose payload is one NUL-terminated string. */
static void *xs_single(struct xs_handle *h, xs_transaction_t t, enum xsd_sockmsg_type type,
                       const char *s, unsigned int *len)
{
    struct iovec iov = XS_IOV_STR(s);
    return xs_talkv(h, t, type, &iov, 1, len);
}

/* Requests whose only answer is "OK". */
static bool xs_bool(void *reply)
{
    if (!reply)
        return false;
    free(reply);
    return true;
}

/* Splits a reply of NUL-terminated strings into one malloc'd vector (pointers, then text). */
static char **xs_split_strings(const char *strings, unsigned int len, unsigned int *num)
{
    unsigned int n = xs_count_strings(strings, len);
    char **vec = malloc(sizeof(char *) * n + len + 1);
    if (!vec) {
        errno = ENOMEM;
        return NULL;
    }
    char *text = (char *)(vec + n);
    memcpy(text, strings, len);
    text[len] = '\0';
    for (unsigned int i = 0; i < n; i++) {
        vec[i] = text;
        text += strlen(text) + 1;
    }
    *num = n;
    return vec;
}

/* XS_DIRECTORY_PART: for directories whose listing exceeds one message. Each reply is the
 * node's generation then a slice of the names starting at byte offset; an empty name ends the
 * listing. A changed generation means the directory changed: start over. */
static char **xs_directory_part(struct xs_handle *h, xs_transaction_t t, const char *path,
                                unsigned int *num)
{
    char *names = NULL, gen[32] = "";
    size_t used = 0;
    for (int tries = 0; tries < 100;) {
        char off[16];
        snprintf(off, sizeof(off), "%zu", used);
        struct iovec iov[2] = {XS_IOV_STR(path), XS_IOV_STR(off)};
        unsigned int len;
        char *r = xs_talkv(h, t, XS_DIRECTORY_PART, iov, 2, &len);
        if (!r) {
            free(names);
            return NULL;
        }
        size_t glen = strnlen(r, len);
        if (glen == len || glen >= sizeof(gen)) {
            free(r);
            free(names);
            errno = EBADMSG;
            return NULL;
        }
        if (used && strcmp(gen, r) != 0) { /* changed meanwhile */
            used = 0;
            tries++;
        }
        memcpy(gen, r, glen + 1);
        const char *slice = r + glen + 1;
        size_t slen = len - glen - 1;
        bool done = slen == 0 || (slen >= 1 && slice[slen - 1] == '\0' &&
                                  (slen == 1 || slice[slen - 2] == '\0'));
        size_t take = done && slen ? slen - 1 : slen;
        if (used + take > XS_DIRECTORY_MAX_BYTES) { /* a daemon that never ends the listing */
            free(r);
            free(names);
            errno = E2BIG;
            return NULL;
        }
        char *grown = realloc(names, used + take + 1);
        if (!grown) {
            free(r);
            free(names);
            errno = ENOMEM;
            return NULL;
        }
        names = grown;
        memcpy(names + used, slice, take);
        used += take;
        free(r);
        if (done) {
            char **vec = xs_split_strings(names, (unsigned int)used, num);
            free(names);
            return vec;
        }
    }
    free(names);
    errno = EAGAIN;
    return NULL;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num)
{
    unsigned int len;
    char *r = xs_single(h, t, XS_DIRECTORY, path, &len);
    if (!r)
        return errno == E2BIG ? xs_directory_part(h, t, path, num) : NULL;
    char **vec = xs_split_strings(r, len, num);
    free(r);
    return vec;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
    return xs_single(h, t, XS_READ, path, len);
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
              unsigned int len)
{
    struct iovec iov[2] = {XS_IOV_STR(path), {.iov_base = (void *)data, .iov_len = len}};
    return xs_bool(xs_talkv(h, t, XS_WRITE, iov, 2, NULL));
}

bool xs_request_batch(struct xs_handle *h, xs_transaction_t t, const struct xs_request_op *ops,
                      unsigned int n, int *errs)
{
    if (!h || (n && (!ops || !errs))) {
        errno = EINVAL;
        return false;
    }
    enum xsd_sockmsg_type *types = malloc((n ? n : 1) * sizeof(*types));
    struct iovec *reqs = malloc((n ? n : 1) * 2 * sizeof(*reqs));
    int rc = types && reqs ? 0 : -ENOMEM;
    for (unsigned int i = 0; i < n && rc == 0; i++) {
        const struct xs_request_op *o = &ops[i];
        bool with_data = o->type == XS_WRITE || o->type == XS_SET_PERMS;
        if (!o->path || (!with_data && o->type != XS_MKDIR && o->type != XS_RM) ||
            (with_data && o->len && !o->data) || (!with_data && o->len))
            rc = -EINVAL;
        else if (strlen(o->path) + 1 + (size_t)o->len > XENSTORE_PAYLOAD_MAX)
            rc = -E2BIG;
        types[i] = o->type;
        reqs[2 * i] = XS_IOV_STR(o->path ? o->path : "");
        reqs[2 * i + 1] = (struct iovec){.iov_base = (void *)o->data, .iov_len = o->len};
    }
    if (rc == 0)
        rc = xs_talk_batch(h, t, types, reqs, n, errs);
    free(types);
    free(reqs);
    if (rc) {
        errno = -rc;
        return false;
    }
    return true;
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    return xs_bool(xs_single(h, t, XS_MKDIR, path, NULL));
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    return xs_bool(xs_single(h, t, XS_RM, path, NULL));
}

bool xs_restrict(struct xs_handle *h, unsigned domid)
{
    (void)h, (void)domid;
    return false;
}

struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                                          unsigned int *num)
{
    unsigned int len;
    char *r = xs_single(h, t, XS_GET_PERMS, path, &len);
    if (!r)
        return NULL;
    unsigned int n = xs_count_strings(r, len);
    struct xs_permissions *perms = n ? malloc(n * sizeof(*perms)) : NULL;
    if (!perms || !xs_strings_to_perms(perms, n, r)) {
        int e = perms ? errno : (n ? ENOMEM : EBADMSG);
        free(perms);
        free(r);
        errno = e;
        return NULL;
    }
    free(r);
    *num = n;
    return perms;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                        struct xs_permissions *perms, unsigned int num_perms)
{
    size_t plen = strlen(path) + 1, cap = plen + (size_t)num_perms * (MAX_STRLEN(unsigned) + 1);
    if (cap > XENSTORE_PAYLOAD_MAX) {
        errno = E2BIG;
        return false;
    }
    char *buf = malloc(cap);
    if (!buf) {
        errno = ENOMEM;
        return false;
    }
    memcpy(buf, path, plen);
    size_t used = plen;
    for (unsigned int i = 0; i < num_perms; i++) {
        if (!xs_perm_to_string(&perms[i], buf + used, cap - used)) {
            free(buf);
            errno = EINVAL;
            return false;
        }
        used += strlen(buf + used) + 1;
    }
    struct iovec iov = {.iov_base = buf, .iov_len = used};
    void *r = xs_talkv(h, t, XS_SET_PERMS, &iov, 1, NULL);
    int e = errno;
    free(buf);
    errno = e;
    return xs_bool(r);
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
    if (!h) {
        errno = EINVAL;
        return false;
    }
    /* Events must be read even while the application is not calling us. */
    int rc = xs_start_reader(h);
    if (rc) {
        errno = -rc;
        return false;
    }
    struct iovec iov[2] = {XS_IOV_STR(path), XS_IOV_STR(token)};
    return xs_bool(xs_talkv(h, XBT_NULL, XS_WATCH, iov, 2, NULL));
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
    struct iovec iov[2] = {XS_IOV_STR(path), XS_IOV_STR(token)};
    bool ok = xs_bool(xs_talkv(h, XBT_NULL, XS_UNWATCH, iov, 2, NULL));
    if (ok && h->unwatch_filter)
        xs_filter_events(h, path, token);
    return ok;
}

char **xs_check_watch(struct xs_handle *h)
{
    if (!h) {
        errno = EINVAL;
        return NULL;
    }
    return xs_pop_event(h, NULL, false);
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
    if (!h) {
        errno = EINVAL;
        return NULL;
    }
    return xs_pop_event(h, num, true);
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
    char *r = xs_single(h, XBT_NULL, XS_TRANSACTION_START, "", NULL);
    if (!r)
        return XBT_NULL;
    char *end;
    errno = 0;
    unsigned long id = strtoul(r, &end, 10);
    bool bad = errno || end == r || *end || id == 0 || id > UINT32_MAX;
    free(r);
    if (bad) {
        errno = EBADMSG;
        return XBT_NULL;
    }
    return (xs_transaction_t)id;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
    return xs_bool(xs_single(h, t, XS_TRANSACTION_END, abort ? "F" : "T", NULL));
}

/* Requests whose payload is a list of unsigned numbers, each sent as a decimal string. */
static void *xs_numbers(struct xs_handle *h, enum xsd_sockmsg_type type, unsigned int nr,
                        const unsigned long *vals, unsigned int *len)
{
    char bufs[3][MAX_STRLEN(unsigned long)];
    struct iovec iov[3];
    for (unsigned int i = 0; i < nr && i < 3; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "%lu", vals[i]);
        iov[i] = XS_IOV_STR(bufs[i]);
    }
    return xs_talkv(h, XBT_NULL, type, iov, nr, len);
}

bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
                         unsigned int eventchn)
{
    unsigned long v[3] = {domid, mfn, eventchn};
    return xs_bool(xs_numbers(h, XS_INTRODUCE, 3, v, NULL));
}

bool xs_set_target(struct xs_handle *h, unsigned int domid, unsigned int target)
{
    unsigned long v[2] = {domid, target};
    return xs_bool(xs_numbers(h, XS_SET_TARGET, 2, v, NULL));
}

bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
    unsigned long v = domid;
    return xs_bool(xs_numbers(h, XS_RESUME, 1, &v, NULL));
}

bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
    unsigned long v = domid;
    return xs_bool(xs_numbers(h, XS_RELEASE, 1, &v, NULL));
}

char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
    unsigned long v = domid;
    return xs_numbers(h, XS_GET_DOMAIN_PATH, 1, &v, NULL);
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
    unsigned long v = domid;
    char *r = xs_numbers(h, XS_IS_DOMAIN_INTRODUCED, 1, &v, NULL);
    if (!r)
        return false;
    bool yes = strcmp(r, "F") != 0;
    free(r);
    return yes;
}

char *xs_control_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
    struct iovec iov[2] = {XS_IOV_STR(cmd), {.iov_base = data, .iov_len = len}};
    return xs_talkv(h, XBT_NULL, XS_CONTROL, iov, 2, NULL);
}

char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
    return xs_control_command(h, cmd, data, len);
}

int xs_suspend_evtchn_port(int domid)
{
    char path[64];
    if (domid < 0)
        return -1;
    snprintf(path, sizeof(path), "/local/domain/%d/device/suspend/event-channel", domid);
    struct xs_handle *h = xs_open(0);
    if (!h)
        return -1;
    unsigned int len = 0;
    char *port = xs_read(h, XBT_NULL, path, &len);
    xs_close(h);
    int rc = port && len ? atoi(port) : -1;
    free(port);
    return rc;
}
