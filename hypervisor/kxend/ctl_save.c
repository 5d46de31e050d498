/* Control-socket ops 128..159: save, restore and dirty logging for the toolstack (xl save,
 * restore, migrate). The state is read and written with the domain's vCPU threads stopped
 * (accel stop, then start again: the vCPUs come back parked, as the domain is paused), so
 * registers are exact and no hypercall is half done; a restore loads it before the threads
 * first start. Guest pages never cross this socket:
 * the toolstack reads and writes them through the domain's memfd (FOREIGN_MAP). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/sched.h>

#include "core.h"
#include "hvm_internal.h"
#include "loader_internal.h"
#include "kxen/ctl_domain.h"
#include "kxen/ctl_save.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/ctl_server.h"
#include "kxend/gnttab.h"
#include "kxend/guest_mem.h"
#include "kxend/save.h"

static struct domain *req_domain(const void *payload, int *rc)
{
    uint16_t domid;
    memcpy(&domid, payload, sizeof(domid));
    struct domain *d = domid >= 1 && domid <= KXEN_MAX_DOMID ? domain_get(domid) : NULL;
    *rc = d ? 0 : -ESRCH;
    return d;
}

static int op_save(struct ctl_request *req, struct ctl_reply *rep)
{
    int rc;
    struct domain *d = req_domain(req->payload, &rc);
    if (!d)
        return rc;
    int st = atomic_load(&d->state);
    if (st != DOM_PAUSED && !(st == DOM_SHUTDOWN && d->shutdown_reason == SHUTDOWN_suspend)) {
        domain_put(d);
        return ctl_refuse(rep, -EBUSY, "domain %u is neither paused nor suspended", d->domid);
    }
    d->accel->stop(d);
    rc = kxend_save_domain(d, rep->payload, KXEN_CTL_MAX_PAYLOAD);
    int src = d->accel->start(d);
    if (src < 0)
        log_err("domain %u: vCPU threads did not restart after save: %d", d->domid, src);
    if (rc >= 0) {
        rep->len = (uint32_t)rc;
        rc = src < 0 ? src : 0;
    }
    domain_put(d);
    return rc;
}

/* A domain built for a Linux PVH kernel gets again what the builder gave it besides guest
 * memory (loader.c): the local APIC (created with the first vCPU, so before it), the 0xE9
 * debug port and the ACPI sleep and reset registers. The header was length-checked by the
 * op table; the rest of the blob is checked by kxend_load_domain. */
static int linux_pvh_prepare(struct domain *d, const uint8_t *blob, uint32_t len,
                             struct vcpu_boot *boot)
{
    struct kxen_save_hdr h;
    if (len < sizeof(h))
        return 0;
    memcpy(&h, blob, sizeof(h));
    /* A PV-on-HVM domain has the flag too (its Linux resumes as a PVH one does), but its
     * LAPIC and ports are its PC's, which HVM_BUILD's restore mode and the devices made. */
    if (!(h.flags & KXEN_SAVE_LINUX_PVH) || d->accel->pv_boot || d->hvm)
        return 0;
    boot->lapic = true;
    /* The transport is chosen again here, before the vCPUs exist: a kernel that ran under
     * KVM's Xen intercept was never rewritten and needs the intercept on this host too; one
     * that was rewritten carries its rewrite in the memory just restored. */
    if (d->accel->linux_hypercalls && d->accel->linux_hypercalls(d))
        log_info("domain %u: restored Linux PVH kernel, hypercalls: KVM Xen intercept", d->domid);
    int rc = loader_pvh_debug_port(d);
    return rc < 0 ? rc : loader_pvh_acpi_ports(d);
}

static int op_restore(struct ctl_request *req, struct ctl_reply *rep)
{
    int rc;
    struct domain *d = req_domain(req->payload, &rc);
    if (!d)
        return rc;
    const uint8_t *blob = (const uint8_t *)req->payload + sizeof(struct kxen_ctl_restore);
    uint32_t len = req->len - (uint32_t)sizeof(struct kxen_ctl_restore);
    char why[KXEN_CTL_REASON_MAX] = "";
    if (atomic_load(&d->state) != DOM_BUILDING || d->vcpus[0]->boot_set) {
        rc = ctl_refuse(rep, -EBUSY, "domain %u is not a freshly created domain", d->domid);
        goto out;
    }
    /* The vCPUs get created with a placeholder boot state, then take the saved registers. */
    struct vcpu_boot boot = {.mode = d->accel->pv_boot ? VCPU_BOOT_LONG64 : VCPU_BOOT_PROT32};
    hvm_restore_boot(d, &boot);
    if ((rc = linux_pvh_prepare(d, blob, len, &boot)) < 0) {
        rc = ctl_refuse(rep, rc, "cannot claim the Linux PVH ports of domain %u", d->domid);
        goto out;
    }
    /* The vCPU threads start once the state is in: they never see the placeholder. */
    if ((rc = domain_set_boot(d, &boot)) < 0 || (rc = domain_vcpus_create(d, true)) < 0) {
        rc = ctl_refuse(rep, rc, "cannot create the vCPUs of domain %u", d->domid);
        goto out;
    }
    rc = kxend_load_domain(d, blob, len, why, sizeof(why));
    if (rc == 0)
        d->accel->flush_code(d);
    int src = d->accel->start(d);
    if (rc < 0)
        rc = ctl_refuse(rep, rc, "%s", why);
    else if (src < 0)
        rc = src;
    else
        log_info("domain %u: restored, paused", d->domid);
out:
    domain_put(d);
    return rc;
}

static int op_resume(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_domid_arg a;
    memcpy(&a, req->payload, sizeof(a));
    int rc;
    struct domain *d = req_domain(req->payload, &rc);
    if (!d)
        return rc;
    if (atomic_load(&d->state) != DOM_SHUTDOWN || d->shutdown_reason != SHUTDOWN_suspend) {
        domain_put(d);
        return ctl_refuse(rep, -EINVAL, "domain %u has not suspended itself", d->domid);
    }
    d->accel->stop(d);
    struct vcpu_regs r;
    rc = d->accel->get_regs(d->vcpus[0], &r);
    if (rc == 0) {
        r.rax = 1; /* the suspend was cancelled: the guest goes on in this domain */
        rc = d->accel->set_regs(d->vcpus[0], &r);
    }
    if (rc == 0) {
        pthread_mutex_lock(&d->lock);
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            if (atomic_load(&d->vcpus[i]->state) == VCPU_STOPPED)
                atomic_store(&d->vcpus[i]->state, VCPU_RUNNABLE);
        d->shutdown_reason = 0;
        atomic_store(&d->state, a.arg & 1 ? DOM_PAUSED : DOM_RUNNING);
        pthread_mutex_unlock(&d->lock);
    }
    int src = d->accel->start(d);
    domain_put(d);
    return rc < 0 ? rc : src;
}

static int op_dirty_log(struct ctl_request *req, struct ctl_reply *rep)
{
    struct kxen_ctl_dirty_log a;
    memcpy(&a, req->payload, sizeof(a));
    int rc;
    struct domain *d = req_domain(req->payload, &rc);
    if (!d)
        return rc;
    uint64_t pages = d->ram_size >> KXEN_PAGE_SHIFT;
    switch (a.cmd) {
    case KXEN_DIRTY_START:
        rc = d->accel->dirty_log_start(d);
        break;
    case KXEN_DIRTY_STOP:
        d->accel->dirty_log_stop(d);
        if (atomic_exchange(&d->migrate_throttle, 0))
            klog_dom(KLOG_INFO, d->domid, "domain %u: migration throttle lifted", d->domid);
        break;
    case KXEN_DIRTY_THROTTLE:
        if (a.throttle > KXEN_DIRTY_MAX_THROTTLE) {
            rc = ctl_refuse(rep, -EINVAL, "throttle %u%%: at most %u%%", a.throttle,
                            KXEN_DIRTY_MAX_THROTTLE);
            break;
        }
        if (atomic_exchange(&d->migrate_throttle, a.throttle) && !a.throttle)
            klog_dom(KLOG_INFO, d->domid, "domain %u: migration throttle lifted", d->domid);
        else if (a.throttle)
            klog_dom(KLOG_INFO, d->domid, "domain %u: migration throttle %u%%", d->domid,
                     a.throttle);
        break;
    case KXEN_DIRTY_COLLECT: {
        /* One call returns the whole domain: a collect clears what it reports. */
        if (pages > KXEN_DIRTY_MAX_PAGES) {
            rc = ctl_refuse(rep, -E2BIG, "domain %u has %llu pages, one dirty collect covers %u",
                            d->domid, (unsigned long long)pages, KXEN_DIRTY_MAX_PAGES);
            break;
        }
        struct kxen_ctl_dirty_rep *r = rep->payload;
        uint64_t *bm = (uint64_t *)(r + 1);
        size_t words = (pages + 63) / 64;
        memset(r, 0, sizeof(*r) + words * 8);
        gnttab_mark_writable(d);
        foreign_writable_mark(d);
        rc = d->accel->dirty_log_collect(d, bm);
        if (rc < 0)
            break;
        r->first_pfn = 0;
        r->nr_pages = pages;
        for (size_t i = 0; i < words; i++)
            r->nr_dirty += (uint64_t)__builtin_popcountll(bm[i]);
        rep->len = (uint32_t)(sizeof(*r) + words * 8);
        break;
    }
    default:
        rc = -EINVAL;
    }
    domain_put(d);
    return rc;
}

static int op_times(struct ctl_request *req, struct ctl_reply *rep)
{
    int rc;
    struct domain *d = req_domain(req->payload, &rc);
    if (!d)
        return rc;
    struct kxen_ctl_domain_times *t = rep->payload;
    t->stop_ns = atomic_load(&d->stop_ns);
    t->first_entry_ns = atomic_load(&d->first_entry_ns);
    rep->len = sizeof(*t);
    domain_put(d);
    return 0;
}

static const struct ctl_op save_ops[] = {
    {KXEN_CTL_SAVE_BEGIN, "save", true, sizeof(struct kxen_ctl_domid_arg), op_save},
    {KXEN_CTL_RESTORE_BEGIN, "restore", true,
     sizeof(struct kxen_ctl_restore) + sizeof(struct kxen_save_hdr), op_restore},
    {KXEN_CTL_DOMAIN_RESUME, "domain_resume", true, sizeof(struct kxen_ctl_domid_arg), op_resume},
    {KXEN_CTL_DIRTY_LOG, "dirty_log", true, sizeof(struct kxen_ctl_dirty_log), op_dirty_log},
    {KXEN_CTL_DOMAIN_TIMES, "domain_times", true, sizeof(struct kxen_ctl_domid_arg), op_times},
};

static const struct ctl_op_group ctl_save_group = {"save", save_ops, ARRAY_SIZE(save_ops)};
CTL_OP_GROUP_REGISTER(ctl_save_group);
