/* Per-domain subsystems: the registered struct domain_subsys sorted by order, run in that
 * order at domain creation and in reverse at destruction (kxend/subsys.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "kxen/log.h"
#include "kxend/subsys.h"

static const struct domain_subsys **sorted;
static size_t nr_sorted;

static int by_order(const void *a, const void *b)
{
    const struct domain_subsys *x = *(const struct domain_subsys *const *)a;
    const struct domain_subsys *y = *(const struct domain_subsys *const *)b;
    return (x->order > y->order) - (x->order < y->order);
}

static void sort_once(void)
{
    size_t n = KXEND_SECTION_COUNT(kxend_subsys);
    if (n == 0)
        return;
    sorted = calloc(n, sizeof(*sorted));
    if (!sorted) {
        log_err("domain subsystems: out of memory sorting %zu entries", n);
        return;
    }
    for (KXEND_FOREACH(kxend_subsys, struct domain_subsys, s))
        sorted[nr_sorted++] = *s;
    qsort(sorted, nr_sorted, sizeof(*sorted), by_order);
}

const struct domain_subsys *const *domain_subsys_sorted(size_t *n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sort_once);
    *n = nr_sorted;
    return sorted;
}

int domain_subsys_init_all(struct domain *d)
{
    size_t n;
    const struct domain_subsys *const *s = domain_subsys_sorted(&n);
    if (n != KXEND_SECTION_COUNT(kxend_subsys))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int rc = s[i]->init ? s[i]->init(d) : 0;
        if (rc < 0) {
            log_err("domain %u: %s: init failed: %d", d->domid, s[i]->name, rc);
            while (i-- > 0)
                if (s[i]->destroy)
                    s[i]->destroy(d);
            return rc;
        }
    }
    return 0;
}

void domain_subsys_destroy_all(struct domain *d)
{
    size_t n;
    const struct domain_subsys *const *s = domain_subsys_sorted(&n);
    while (n-- > 0)
        if (s[n]->destroy)
            s[n]->destroy(d);
}
