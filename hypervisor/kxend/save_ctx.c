/* The save/restore stream inside kxend: struct kxend_save_ctx frames the kxen records of
 * kxen/ctl_save.h in one buffer, and the save and load loops run every registered
 * subsystem's hooks over it in order. Invariant: a blob is fully validated (magic, version,
 * sizes, every record's framing) before any load hook runs, so a refused blob changes
 * nothing in the domain. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kxen/log.h"
#include "kxend/accel.h"
#include "kxend/save.h"
#include "kxend/subsys.h"

#define PAD8(n) (((n) + 7u) & ~7u)

struct kxend_save_ctx {
    uint8_t *buf;
    uint32_t len, cap;
    const struct kxen_save_hdr *hdr;
    char *reason; /* load only: a hook's refusal */
    size_t reason_len;
};

int kxend_load_refuse(struct kxend_save_ctx *ctx, const char *fmt, ...)
{
    if (ctx->reason && ctx->reason_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->reason, ctx->reason_len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

char *kxend_load_reason(struct kxend_save_ctx *ctx, size_t *len)
{
    *len = ctx->reason_len;
    return ctx->reason;
}

int kxend_save_put(struct kxend_save_ctx *ctx, uint32_t type, uint32_t instance, const void *body,
                   uint32_t len)
{
    uint64_t need = sizeof(struct kxen_save_rec) + PAD8((uint64_t)len);
    if (ctx->len + need > ctx->cap)
        return -ENOSPC;
    struct kxen_save_rec r = {.type = type, .instance = instance, .len = len};
    memcpy(ctx->buf + ctx->len, &r, sizeof(r));
    memcpy(ctx->buf + ctx->len + sizeof(r), body, len);
    memset(ctx->buf + ctx->len + sizeof(r) + len, 0, PAD8(len) - len);
    ctx->len += (uint32_t)need;
    return 0;
}

int kxend_save_get(struct kxend_save_ctx *ctx, uint32_t type, uint32_t instance, void *body,
                   uint32_t cap)
{
    uint32_t off = sizeof(struct kxen_save_hdr);
    while (off < ctx->len) {
        struct kxen_save_rec r;
        memcpy(&r, ctx->buf + off, sizeof(r));
        if (r.type == type && r.instance == instance) {
            memcpy(body, ctx->buf + off + sizeof(r), r.len < cap ? r.len : cap);
            return (int)r.len;
        }
        off += sizeof(r) + PAD8(r.len);
    }
    return -ENOENT;
}

const struct kxen_save_hdr *kxend_save_hdr(const struct kxend_save_ctx *ctx)
{
    return ctx->hdr;
}

int kxend_save_domain(struct domain *d, void *buf, uint32_t cap)
{
    if (cap < sizeof(struct kxen_save_hdr))
        return -ENOSPC;
    struct kxen_save_hdr *h = buf;
    memset(h, 0, sizeof(*h));
    h->magic = KXEN_SAVE_MAGIC;
    h->version = KXEN_SAVE_VERSION;
    snprintf(h->accel, sizeof(h->accel), "%s", d->accel->name);
    h->ram_size = d->ram_size;
    h->nr_vcpus = d->nr_vcpus;
    h->store_pfn = d->store_pfn;
    h->console_pfn = d->console_pfn;
    h->system_time_ns = domain_time_ns(d);
    h->tsc_khz = kxen_tsc_khz();
    if (atomic_load(&d->state) == DOM_SHUTDOWN)
        h->flags |= KXEN_SAVE_SUSPENDED;
    if (d->vcpus[0]->boot.lapic)
        h->flags |= KXEN_SAVE_LINUX_PVH;
    memcpy(h->hvm_params, d->hvm_params, sizeof(h->hvm_params));
    struct kxend_save_ctx ctx = {.buf = buf, .len = sizeof(*h), .cap = cap, .hdr = h};
    size_t n;
    const struct domain_subsys *const *s = domain_subsys_sorted(&n);
    for (size_t i = 0; i < n; i++) {
        int rc = s[i]->save ? s[i]->save(d, &ctx) : 0;
        if (rc < 0) {
            log_err("domain %u: %s: save failed: %d", d->domid, s[i]->name, rc);
            return rc;
        }
    }
    h->records_len = ctx.len - (uint32_t)sizeof(*h);
    return (int)ctx.len;
}

/* Framing and header checks: everything a load hook may rely on. */
/* Fills why and returns rc. */
#define REFUSE(rc, ...)                                                                            \
    do {                                                                                           \
        snprintf(why, wl, __VA_ARGS__);                                                            \
        return rc;                                                                                 \
    } while (0)

static int blob_check(const struct domain *d, const uint8_t *blob, uint32_t len, char *why,
                      size_t wl)
{
    struct kxen_save_hdr h;
    if (len < sizeof(h))
        REFUSE(-EINVAL, "kxen state is %u bytes, shorter than its header", len);
    memcpy(&h, blob, sizeof(h));
    if (h.magic != KXEN_SAVE_MAGIC)
        REFUSE(-EINVAL, "kxen state has a bad magic %#x", h.magic);
    if (h.version != KXEN_SAVE_VERSION)
        REFUSE(-EPROTO, "kxen state version %u, this kxend reads version %u", h.version,
               KXEN_SAVE_VERSION);
    if (strnlen(h.accel, sizeof(h.accel)) == sizeof(h.accel))
        REFUSE(-EINVAL, "kxen state names no accelerator");
    if (strcmp(h.accel, d->accel->name))
        REFUSE(-EXDEV,
               "the domain was saved on the %s accelerator and this kxend runs %s: "
               "their vCPU state is not interchangeable (soft keeps no segment "
               "descriptors or interrupt state kvm needs, kvm guests may run outside "
               "long mode, which soft cannot)",
               h.accel, d->accel->name);
    if (h.ram_size != d->ram_size)
        REFUSE(-EINVAL, "saved RAM is %llu bytes, the new domain has %llu",
               (unsigned long long)h.ram_size, (unsigned long long)d->ram_size);
    if (h.flags & ~(KXEN_SAVE_SUSPENDED | KXEN_SAVE_LINUX_PVH))
        REFUSE(-EPROTO, "kxen state has unknown flags %#x", h.flags);
    if (h.nr_vcpus != d->nr_vcpus)
        REFUSE(-EINVAL, "saved domain has %u vCPUs, the new domain %u", h.nr_vcpus, d->nr_vcpus);
    if (h.records_len != len - sizeof(h))
        REFUSE(-EINVAL, "kxen state records are %u bytes, %zu were sent", h.records_len,
               len - sizeof(h));
    uint32_t off = sizeof(h);
    while (off < len) {
        struct kxen_save_rec r;
        if (len - off < sizeof(r))
            REFUSE(-EINVAL, "kxen record at offset %u is truncated", off);
        memcpy(&r, blob + off, sizeof(r));
        if ((r.type < KXEN_SREC_DOMAIN || r.type > KXEN_SREC_KVM_VCPU) &&
            (r.type < KXEN_SREC_BALLOON || r.type > KXEN_SREC_XEN_HVM))
            REFUSE(-EINVAL, "kxen record type %u at offset %u is unknown", r.type, off);
        if (r.len > len - off - sizeof(r) || PAD8(r.len) > len - off - sizeof(r))
            REFUSE(-EINVAL, "kxen record type %u at offset %u overruns the state", r.type, off);
        off += (uint32_t)sizeof(r) + PAD8(r.len);
    }
    return 0;
}
#undef REFUSE

int kxend_load_domain(struct domain *d, const void *blob, uint32_t len, char *reason,
                      size_t reason_len)
{
    int rc = blob_check(d, blob, len, reason, reason_len);
    if (rc < 0)
        return rc;
    reason[0] = 0;
    struct kxend_save_ctx ctx = {.buf = (uint8_t *)blob,
                                 .len = len,
                                 .cap = len,
                                 .hdr = (const void *)blob,
                                 .reason = reason,
                                 .reason_len = reason_len};
    memcpy(d->hvm_params, ctx.hdr->hvm_params, sizeof(d->hvm_params));
    d->store_pfn = ctx.hdr->store_pfn;
    d->console_pfn = ctx.hdr->console_pfn;
    size_t n;
    const struct domain_subsys *const *s = domain_subsys_sorted(&n);
    for (size_t i = 0; i < n; i++) {
        rc = s[i]->load ? s[i]->load(d, &ctx) : 0;
        if (rc < 0) {
            if (!reason[0])
                snprintf(reason, reason_len, "%s state refused (%s)", s[i]->name, strerror(-rc));
            return rc;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rc = s[i]->post_load ? s[i]->post_load(d) : 0;
        if (rc < 0) {
            snprintf(reason, reason_len, "%s state refused after load (%s)", s[i]->name,
                     strerror(-rc));
            return rc;
        }
    }
    return 0;
}
