/* What a builder killed half-way leaves behind. kxend destroys a domain whose builder's
 * connection closed before it finished it, and xenstored removes the nodes of an introduced
 * domain kxend dropped; neither knows the tree a build writes before the introduce (a
 * restore's whole page stream), the backends and hotplug state of its devices, or a
 * finished copy still waiting for a migration's go. The build hook names the domain to a
 * process that outlives the builder (xl's build guard), which tears it down as
 * kxl_domain_destroy does. Invariant: a domain is torn down here only when its uuid is the
 * one the build reported, so an id kxend handed to a later domain is never touched. A test
 * can hold a build just before its introduce (KXEN_TEST_BUILD_HOLD) to kill it there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kxl_internal.h"

#define ORPHAN_KXEND_MS 1000

void kxl_set_build_hook(struct kxl_ctx *ctx, kxl_build_hook_fn *fn, void *opaque)
{
    ctx->build_hook = fn;
    ctx->build_hook_arg = opaque;
}

void kxl__build_event(struct kxl_ctx *ctx, enum kxl_build_event ev, uint16_t domid,
                      const uint8_t *uuid)
{
    if (ctx->build_hook)
        ctx->build_hook(ctx->build_hook_arg, ev, domid, uuid);
}

/* A test names a file in KXEN_TEST_BUILD_HOLD and creates it when a build should stop (the
 * first build of a domain may run on, its restart stop). The build that reaches the introduce
 * while the file exists writes its pid there and waits, a minute at most, until the file is
 * gone: its domain, tree and devices are made, and nothing but the build guard knows of them
 * (tests/system/xl_migrate_killed.sh kills the builder there). Unset, nothing happens. */
void kxl__build_hold(void)
{
    const char *f = getenv("KXEN_TEST_BUILD_HOLD");
    if (!f || !*f || access(f, F_OK) != 0)
        return;
    FILE *o = fopen(f, "w");
    if (!o)
        return;
    fprintf(o, "%d\n", (int)getpid());
    fclose(o);
    for (int i = 0; i < 60 * 20 && access(f, F_OK) == 0; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* 1 when domid is still the build's domain (in kxend, or only in xenstore once kxend forgot
 * it: the whole tree, /vm path included, is written in one transaction), 0 when nothing of
 * it is left or the id is another domain's now. */
static int still_ours(struct kxl_ctx *ctx, uint16_t domid, const uint8_t uuid[16])
{
    struct kxl_dominfo di;
    int rc = kxl_hv_getinfo(ctx, domid, false, &di);
    if (rc == 0)
        return memcmp(di.uuid, uuid, 16) == 0;
    if (rc != -ENOENT && rc != -ESRCH)
        return rc;
    if (!kxl_xs(ctx))
        return 0;
    char p[64], want[48], u[37];
    kxl_format_uuid(uuid, u);
    snprintf(want, sizeof(want), "/vm/%s", u);
    snprintf(p, sizeof(p), "/local/domain/%u/vm", domid);
    char *vm = kxl_xs_read(ctx, p);
    int ours = vm && strcmp(vm, want) == 0;
    free(vm);
    return ours;
}

int kxl_domain_destroy_orphan(struct kxl_ctx *ctx, uint16_t domid, const uint8_t uuid[16])
{
    if (domid == 0)
        return kxl_fail(ctx, -EPERM, "Domain-0 cannot be destroyed");
    int rc = still_ours(ctx, domid, uuid);
    if (rc < 0)
        return kxl_fail(ctx, rc, "cannot look up domain %u: %s", domid, kxl_hv_reason(ctx, rc));
    if (rc == 0)
        return 0;
    /* A domain its builder had not finished is kxend's to destroy once the builder's
     * connection closed (its log says why): it gets a moment to. One it had finished (a
     * migration's copy waiting for the go) stays there, and goes here. Either way the
     * destroy below clears what is left in xenstore and the devices. */
    kxl_domain_wait_gone(ctx, domid, ORPHAN_KXEND_MS);
    kxl_domain_destroy(ctx, domid);
    return 1;
}
