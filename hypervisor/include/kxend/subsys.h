/* Per-domain subsystems (event channels, grant tables, emulated I/O, devices, ...) register a
 * struct domain_subsys; domain_create() runs every init in ascending order and
 * domain_destroy() every destroy in descending order, so a subsystem may rely on every
 * subsystem of a lower order existing for its whole life. The core never names a subsystem.
 *
 * The save/load/post_load hooks are the save/restore stream's: each subsystem writes and
 * reads its own records and the stream code loops over subsystems (NULL: nothing to save).
 * They are called with the domain paused. */
#ifndef KXEND_SUBSYS_H
#define KXEND_SUBSYS_H

#include "kxend/domain.h"
#include "kxend/registry.h"

struct kxend_save_ctx; /* the save/restore stream (opaque to subsystems) */

/* Init levels: lower runs first. The accelerator's own domain_init runs before all. */
enum {
    SUBSYS_ORDER_CORE = 0,    /* event channels: everything else may send events */
    SUBSYS_ORDER_MEMORY = 10, /* grant tables */
    SUBSYS_ORDER_IO = 20,     /* emulated I/O dispatch */
    SUBSYS_ORDER_DEVICE = 30, /* device models, platform devices */
    SUBSYS_ORDER_LATE = 90,
};

struct domain_subsys {
    const char *name;
    int order;
    /* 0 or -errno; on failure the subsystems already initialised are destroyed again. */
    int (*init)(struct domain *d);
    /* After every vCPU has stopped for good; must undo init completely. May be NULL. */
    void (*destroy)(struct domain *d);
    int (*save)(struct domain *d, struct kxend_save_ctx *ctx);
    int (*load)(struct domain *d, struct kxend_save_ctx *ctx);
    int (*post_load)(struct domain *d);
};

#define DOMAIN_SUBSYS_REGISTER(var) KXEND_REGISTER(kxend_subsys, struct domain_subsys, var)
KXEND_SECTION_DECLARE(kxend_subsys, struct domain_subsys);

/* Runs init hooks in order; on failure undoes those already run and returns the error. */
int domain_subsys_init_all(struct domain *d);
/* Runs destroy hooks in reverse order. */
void domain_subsys_destroy_all(struct domain *d);
/* The registered subsystems sorted by order (cached after the first call); *n gets the count. */
const struct domain_subsys *const *domain_subsys_sorted(size_t *n);

#endif
