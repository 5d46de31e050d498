/* The daemon's state: tree, watches, domains, quotas; created and torn down as one. */
#include "xenstored.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kxen/log.h"
#include "kxen/util.h"

int xs_daemon_init(struct xs_daemon *d, struct event_base *base)
{
    memset(d, 0, sizeof(*d));
    d->base = base;
    xs_quota_defaults(&d->quota);
    d->domtab_size = 256;
    d->domtab = calloc(d->domtab_size, sizeof(*d->domtab));
    d->watches = xs_watches_new();
    int r = xs_tree_init(&d->tree);
    if (!d->domtab || !d->watches || r) {
        xs_daemon_fini(d);
        return -ENOMEM;
    }
    d->tree.account = xs_domain_account;
    d->tree.account_opaque = d;
    /* Only dom0 may watch the special nodes until it grants others access. */
    for (int i = 0; i < 2; i++) {
        d->special_perms[i][0] = (struct xs_perm){0, XS_PERM_NONE};
        d->special_nperms[i] = 1;
    }
    /* Xen's stores start with /local/domain and /tool: toolstacks expect them. */
    struct xs_perm p = {0, XS_PERM_NONE};
    if (xs_tree_create(&d->tree, "/local", &p, 1, NULL) ||
        xs_tree_create(&d->tree, "/local/domain", &p, 1, NULL) ||
        xs_tree_create(&d->tree, "/tool", &p, 1, NULL)) {
        xs_daemon_fini(d);
        return -ENOMEM;
    }
    return 0;
}

void xs_daemon_fini(struct xs_daemon *d)
{
    while (d->conns)
        xs_conn_free(d->conns);
    xs_watches_free(d->watches);
    d->watches = NULL;
    d->tree.account = NULL;
    xs_tree_free(&d->tree);
    if (d->domtab)
        xs_domains_free(d);
    free(d->domtab);
    d->domtab = NULL;
}

void xs_trace(struct xs_daemon *d, const char *fmt, ...)
{
    if (!d->trace_on && klog_get_level() < KLOG_DEBUG)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (d->trace && d->trace_on) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(d->trace, "%lld.%06ld %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, line);
        fflush(d->trace);
    } else {
        log_debug("%s", line);
    }
}
