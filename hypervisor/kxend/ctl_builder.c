/* Half-built domains: a domain created with KXEN_CTL_CREATE_BUILDING belongs to the control
 * connection that created it until that builder finishes it (an UNPAUSE, or UNPAUSE with
 * KXEN_CTL_UNPAUSE_BUILT_ONLY to leave it paused). If the connection goes first -- the
 * builder was killed or crashed half-way -- kxend destroys the domain, so no paused domain
 * is left holding its RAM. Invariant: an entry is in the list from the create until its
 * connection's cleanup runs; only the control server's thread touches the list. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kxend/ctl_server.h"
#include "kxend/domain.h"
#include "kxen/log.h"

#include "core.h"

struct build {
    uint16_t domid;
    bool finished;
    struct build *next;
};

static struct build *builds;

static void build_unlink(struct build *b)
{
    for (struct build **pp = &builds; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            return;
        }
}

/* The builder's connection closed. */
static void build_cleanup(void *arg)
{
    struct build *b = arg;
    build_unlink(b);
    struct domain *d = b->finished ? NULL : domain_get(b->domid);
    if (d) {
        log_warn("domain %u (%s): its builder went away before finishing it: destroying it",
                 d->domid, d->name);
        domain_destroy(d);
        domain_put(d);
    }
    free(b);
}

int ctl_builder_track(struct ctl_conn *conn, uint16_t domid)
{
    struct build *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->domid = domid;
    int rc = ctl_conn_add_cleanup(conn, build_cleanup, b);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b->next = builds;
    builds = b;
    return 0;
}

void ctl_builder_finish(uint16_t domid)
{
    for (struct build *b = builds; b; b = b->next)
        if (b->domid == domid)
            b->finished = true;
}
