/* xl restore and a migration's receiving end: a stream becomes a domain through the ordinary
 * build (build.c) with a loader instead of a kernel. With kxen's prologue (what the domain
 * needs: RAM, vCPUs, accelerator, ring pages) the domain is built first and the pages are
 * read straight into its memory, then kxend gets the saved state; an image without one is
 * read whole first and copied in. Config, RAM size, vCPUs and accelerator are refused before
 * a domain exists; a failure later (a cut or corrupt stream, the ports) destroys what the
 * build made. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_save.h"
#include "kxen/util.h"
#include "kxl_internal.h"
#include "kxl_save.h"
#include "stream_io.h"
#include "xenstore.h"

#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_EVTCHN 18

void kxl__rt_phase(struct kxl_ctx *ctx, uint64_t *phase)
{
    if (!ctx->rt_mark)
        return;
    uint64_t now = kxen_now_ns();
    *phase += now - ctx->rt_mark;
    ctx->rt.total_ns += now - ctx->rt_mark;
    ctx->rt_mark = now;
}

void kxl_restore_times(const struct kxl_ctx *ctx, struct kxl_restore_times *out)
{
    *out = ctx->rt;
}

void kxl__rt_start(struct kxl_ctx *ctx)
{
    memset(&ctx->rt, 0, sizeof(ctx->rt));
    ctx->rt_mark = kxen_now_ns();
}

/* The ports the new domain got must be the ones the guest was saved with: they are in its
 * own memory (the runtime's event-channel bindings). */
static int check_ports(struct kxl_ctx *ctx, const struct kxen_save_hdr *k, uint32_t store_port,
                       uint32_t console_port)
{
    if (store_port != k->hvm_params[HVM_PARAM_STORE_EVTCHN] ||
        console_port != k->hvm_params[HVM_PARAM_CONSOLE_EVTCHN])
        return kxl_fail(ctx, -EBUSY,
                        "the new domain got store/console ports %u/%u, the guest "
                        "uses %llu/%llu",
                        store_port, console_port,
                        (unsigned long long)k->hvm_params[HVM_PARAM_STORE_EVTCHN],
                        (unsigned long long)k->hvm_params[HVM_PARAM_CONSOLE_EVTCHN]);
    return 0;
}

/* kxend's saved state into the new domain (its vCPUs, events, grants): left paused. */
static int restore_state(struct kxl_ctx *ctx, uint16_t domid, const struct kxl_image *img)
{
    size_t len = sizeof(struct kxen_ctl_restore) + img->kx_len;
    uint8_t *req = malloc(len);
    if (!req)
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    struct kxen_ctl_restore a = {.domid = domid};
    memcpy(req, &a, sizeof(a));
    memcpy(req + sizeof(a), img->kx, img->kx_len);
    int rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_RESTORE_BEGIN, req, (uint32_t)len, NULL, 0, NULL);
    free(req);
    return rc < 0 ? kxl_fail(ctx, rc, "kxend refused the saved state: %s", kxl_hv_reason(ctx, rc))
                  : 0;
}

/* A guest restored with pages it had given back (kxend's balloon state) holds less than its
 * RAM: memory/target says so, or its balloon driver would take them back. The tree already
 * says ram_size (check_fit). */
static void balloon_target(struct kxl_ctx *ctx, uint16_t domid, uint64_t ram_size)
{
    struct kxl_dominfo di;
    char p[64];
    snprintf(p, sizeof(p), "/local/domain/%u/memory/target", domid);
    if (kxl_hv_getinfo(ctx, domid, false, &di) == 0 && di.memory_kb != ram_size >> 10)
        kxl_xs_printf(ctx, XBT_NULL, p, "%llu", (unsigned long long)di.memory_kb);
}

/* An image read whole (no prologue): its pages are copied into the new domain. */
static int load_image(struct kxl_ctx *ctx, uint16_t domid, uint32_t store_port,
                      uint32_t console_port, uint64_t *store_pfn, uint64_t *console_pfn, void *arg)
{
    const struct kxl_image *img = arg;
    const struct kxen_save_hdr *k = img->kx;
    int rc = check_ports(ctx, k, store_port, console_port);
    if (rc < 0)
        return rc;
    uint8_t *ram;
    uint64_t size;
    if ((rc = kxl__map_ram(ctx, domid, true, &ram, &size, NULL)) < 0)
        return kxl_fail(ctx, rc, "cannot map the memory of domain %u: %s", domid, strerror(-rc));
    if (size != img->ram_size) {
        munmap(ram, size);
        return kxl_fail(ctx, -EINVAL, "domain %u has %llu bytes of RAM, the image %llu", domid,
                        (unsigned long long)size, (unsigned long long)img->ram_size);
    }
    kxl__rt_phase(ctx, &ctx->rt.create_ns);
    /* The new domain's memory is zero: only pages with data are copied (touching the others
     * would allocate them on both sides). */
    for (uint64_t p = 0; p < size >> 12; p++)
        if (img->data[p / 64] & (1ull << (p % 64)))
            memcpy(ram + (p << 12), img->ram + (p << 12), 4096);
    munmap(ram, size);
    kxl__rt_phase(ctx, &ctx->rt.pages_ns);
    if ((rc = restore_state(ctx, domid, img)) < 0)
        return rc;
    kxl__rt_phase(ctx, &ctx->rt.state_ns);
    *store_pfn = k->store_pfn;
    *console_pfn = k->console_pfn;
    return 0;
}

/* A stream with kxen's prologue: the domain is built from the prologue while the pages are
 * still to come; finish_streamed then reads them straight into its memory. */
struct streamed {
    struct kxl_sreader *r;
    const char *source;
    struct kxl_image *img;
    uint32_t store_port, console_port;
};

static int load_streamed(struct kxl_ctx *ctx, uint16_t domid, uint32_t store_port,
                         uint32_t console_port, uint64_t *store_pfn, uint64_t *console_pfn,
                         void *arg)
{
    struct streamed *st = arg;
    (void)ctx, (void)domid;
    st->store_port = store_port;
    st->console_port = console_port;
    *store_pfn = st->img->pro.store_pfn;
    *console_pfn = st->img->pro.console_pfn;
    return 0;
}

static int finish_streamed(struct kxl_ctx *ctx, uint16_t domid, void *arg)
{
    struct streamed *st = arg;
    struct kxl_image *img = st->img;
    uint8_t *ram;
    uint64_t size;
    int rc = kxl__map_ram(ctx, domid, true, &ram, &size, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "cannot map the memory of domain %u: %s", domid, strerror(-rc));
    if (size != img->pro.ram_size) {
        munmap(ram, size);
        return kxl_fail(ctx, -EINVAL, "domain %u has %llu bytes of RAM, the stream %llu", domid,
                        (unsigned long long)size, (unsigned long long)img->pro.ram_size);
    }
    img->ram = ram;
    img->ram_size = size;
    img->fixed = true;
    rc = kxl__image_read_body(ctx, st->r, st->source, img);
    if (rc == 0 && kxl_sreader_at_end(st->r) != 1)
        rc = kxl_fail(ctx, -EINVAL, "%s goes on after the end of its stream", st->source);
    munmap(ram, size);
    img->ram = NULL;
    kxl__rt_phase(ctx, &ctx->rt.pages_ns);
    if (rc == 0)
        rc = check_ports(ctx, img->kx, st->store_port, st->console_port);
    if (rc == 0)
        rc = restore_state(ctx, domid, img);
    if (rc == 0)
        balloon_target(ctx, domid, img->ram_size);
    kxl__rt_phase(ctx, &ctx->rt.state_ns);
    return rc;
}

/* Everything about the image against the config and this host, before a domain exists. */
static int check_fit(struct kxl_ctx *ctx, const struct kxl_domain_config *dc, uint64_t ram_size,
                     uint32_t nr_vcpus, const char *accel, const char *source)
{
    if (dc->memory_mb << 20 != ram_size)
        return kxl_fail(ctx, -EINVAL,
                        "%s: the config gives memory = %llu MiB, the saved "
                        "domain has %llu MiB",
                        source, (unsigned long long)dc->memory_mb,
                        (unsigned long long)ram_size >> 20);
    if (dc->vcpus != nr_vcpus)
        return kxl_fail(ctx, -EINVAL, "%s: the config gives vcpus = %u, the saved domain has %u",
                        source, dc->vcpus, nr_vcpus);
    if (strncmp(accel, kxl_accel(ctx), 16))
        return kxl_fail(ctx, -EXDEV,
                        "%s was saved on the %.16s accelerator and kxend runs %s: "
                        "their vCPU state is not interchangeable (soft keeps no segment "
                        "descriptors or interrupt state kvm needs; soft cannot run outside "
                        "long mode)",
                        source, accel, kxl_accel(ctx));
    return 0;
}

int kxl__image_check_fit(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                         const struct kxl_image *img, const char *source)
{
    if (img->has_pro)
        return check_fit(ctx, dc, img->pro.ram_size, img->pro.nr_vcpus, img->pro.accel, source);
    return check_fit(ctx, dc, img->kx->ram_size, img->kx->nr_vcpus, img->kx->accel, source);
}

/* A guest that suspended itself answers the next request too, but Linux writes its
 * control/feature-* nodes only at boot: without the node the next save or migration would
 * pause it instead, and its frontends would never reconnect on the far side. */
static int rewrite_feature_suspend(struct kxl_ctx *ctx, const struct kxl_image *img, uint16_t domid)
{
    const struct kxen_save_hdr *k = img->kx;
    if (!ctx->xs || !k || !(k->flags & KXEN_SAVE_SUSPENDED))
        return 0;
    char p[96];
    snprintf(p, sizeof(p), "/local/domain/%u/control/feature-suspend", domid);
    if (kxl_xs_printf(ctx, XBT_NULL, p, "1") < 0) {
        kxl_domain_destroy(ctx, domid);
        return kxl_fail(ctx, -EIO, "cannot write %s", p);
    }
    return 0;
}

int kxl__image_restore(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                       struct kxl_sreader *r, const char *source, struct kxl_image *img,
                       bool paused, uint16_t *domid_out)
{
    int rc;
    if (!img->has_pro) {
        struct kxl__loader ld = {load_image, NULL, img};
        rc = kxl__domain_build(ctx, dc, paused, &ld, domid_out);
    } else {
        struct streamed st = {.r = r, .source = source, .img = img};
        struct kxl__loader ld = {load_streamed, finish_streamed, &st};
        rc = kxl__domain_build(ctx, dc, paused, &ld, domid_out);
    }
    ctx->rt.pages = img->pages;
    ctx->rt.zero_pages = img->zero_pages;
    if (rc == 0)
        rc = rewrite_feature_suspend(ctx, img, *domid_out);
    kxl__rt_phase(ctx, &ctx->rt.unpause_ns);
    return rc;
}

int kxl__image_read_rest(struct kxl_ctx *ctx, struct kxl_sreader *r, const char *source,
                         struct kxl_image *img)
{
    if (img->has_pro)
        return 0; /* the build reads it into the domain */
    int rc = kxl__image_read_body(ctx, r, source, img);
    if (rc == 0 && kxl_sreader_at_end(r) != 1) {
        kxl__image_free(img);
        rc = kxl_fail(ctx, -EINVAL, "%s goes on after the end of its stream", source);
    }
    return rc;
}

int kxl_domain_restore(struct kxl_ctx *ctx, int fd, const char *source,
                       const struct kxl_domain_config *override, bool paused, uint16_t *domid_out,
                       struct kxl_domain_config *dc_out)
{
    struct kxl_sreader *r;
    struct kxl_image img;
    int rc = kxl_sreader_open(fd, &r);
    if (rc < 0)
        return kxl_fail(ctx, rc, "cannot read %s: %s", source, strerror(-rc));
    kxl__rt_start(ctx);
    rc = kxl__image_read_head(ctx, r, source, &img);
    kxl__rt_phase(ctx, &ctx->rt.head_ns);
    if (rc == 0)
        rc = kxl__image_read_rest(ctx, r, source, &img);
    kxl__rt_phase(ctx, &ctx->rt.pages_ns);
    if (rc < 0) {
        ctx->rt_mark = 0;
        kxl_sreader_close(r);
        return rc;
    }
    struct kxl_domain_config own;
    const struct kxl_domain_config *dc = override;
    if (!dc) {
        struct kxl_cfg cfg;
        char err[256];
        kxl_cfg_init(&cfg);
        rc =
            kxl_cfg_parse(&cfg, source, img.config_text, strlen(img.config_text), err, sizeof(err));
        if (rc == 0)
            rc = kxl_domain_config_from_cfg(&own, &cfg, err, sizeof(err));
        kxl_cfg_free(&cfg);
        if (rc < 0) {
            ctx->rt_mark = 0;
            kxl__image_free(&img);
            kxl_sreader_close(r);
            return kxl_fail(ctx, rc, "the config saved in %s is invalid: %s", source, err);
        }
        dc = &own;
    }
    rc = kxl__image_check_fit(ctx, dc, &img, source);
    kxl__rt_phase(ctx, &ctx->rt.head_ns);
    if (rc == 0)
        rc = kxl__image_restore(ctx, dc, r, source, &img, paused, domid_out);
    ctx->rt_mark = 0;
    if (!override && rc == 0 && dc_out)
        *dc_out = own;
    else if (!override)
        kxl_domain_config_free(&own);
    kxl__image_free(&img);
    kxl_sreader_close(r);
    return rc;
}
