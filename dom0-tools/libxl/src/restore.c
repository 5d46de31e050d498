/* xl restore: an image read and validated whole (restore_stream.c) becomes a domain through
 * the ordinary build (build.c) with a loader that copies the pages into the new domain's
 * memory and hands kxend its saved state instead of loading a kernel. Everything that can be
 * refused without a domain is refused first: config, RAM size, vCPUs, accelerator, the
 * store and console ports. A failure later destroys what the build made. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kxen/ctl_client.h"
#include "kxen/ctl_save.h"
#include "kxl_internal.h"
#include "kxl_save.h"
#include "stream_io.h"
#include "xenstore.h"

#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_EVTCHN 18

static int load_image(struct kxl_ctx *ctx, uint16_t domid, uint32_t store_port,
                      uint32_t console_port, uint64_t *store_pfn, uint64_t *console_pfn, void *arg)
{
    const struct kxl_image *img = arg;
    const struct kxen_save_hdr *k = img->kx;
    if (store_port != k->hvm_params[HVM_PARAM_STORE_EVTCHN] ||
        console_port != k->hvm_params[HVM_PARAM_CONSOLE_EVTCHN])
        return kxl_fail(ctx, -EBUSY,
                        "the new domain got store/console ports %u/%u, the guest "
                        "uses %llu/%llu",
                        store_port, console_port,
                        (unsigned long long)k->hvm_params[HVM_PARAM_STORE_EVTCHN],
                        (unsigned long long)k->hvm_params[HVM_PARAM_CONSOLE_EVTCHN]);
    uint8_t *ram;
    uint64_t size;
    int rc = kxl__map_ram(ctx, domid, true, &ram, &size, NULL);
    if (rc < 0)
        return kxl_fail(ctx, rc, "cannot map the memory of domain %u: %s", domid, strerror(-rc));
    if (size != img->ram_size) {
        munmap(ram, size);
        return kxl_fail(ctx, -EINVAL, "domain %u has %llu bytes of RAM, the image %llu", domid,
                        (unsigned long long)size, (unsigned long long)img->ram_size);
    }
    /* The new domain's memory is zero: only pages with data are copied (touching the others
     * would allocate them on both sides). */
    for (uint64_t p = 0; p < size >> 12; p++)
        if (img->data[p / 64] & (1ull << (p % 64)))
            memcpy(ram + (p << 12), img->ram + (p << 12), 4096);
    munmap(ram, size);
    size_t len = sizeof(struct kxen_ctl_restore) + img->kx_len;
    uint8_t *req = malloc(len);
    if (!req)
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    struct kxen_ctl_restore a = {.domid = domid};
    memcpy(req, &a, sizeof(a));
    memcpy(req + sizeof(a), img->kx, img->kx_len);
    rc = kxen_ctl_simple(ctx->ctl, KXEN_CTL_RESTORE_BEGIN, req, (uint32_t)len, NULL, 0, NULL);
    free(req);
    if (rc < 0)
        return kxl_fail(ctx, rc, "kxend refused the saved state: %s", kxl_hv_reason(ctx, rc));
    *store_pfn = k->store_pfn;
    *console_pfn = k->console_pfn;
    return 0;
}

/* Everything about the image against the config and this host, before a domain exists. */
static int check_fit(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                     const struct kxl_image *img, const char *source)
{
    const struct kxen_save_hdr *k = img->kx;
    if (dc->memory_mb << 20 != k->ram_size)
        return kxl_fail(ctx, -EINVAL,
                        "%s: the config gives memory = %llu MiB, the saved "
                        "domain has %llu MiB",
                        source, (unsigned long long)dc->memory_mb,
                        (unsigned long long)k->ram_size >> 20);
    if (dc->vcpus != k->nr_vcpus)
        return kxl_fail(ctx, -EINVAL, "%s: the config gives vcpus = %u, the saved domain has %u",
                        source, dc->vcpus, k->nr_vcpus);
    if (strncmp(k->accel, kxl_accel(ctx), sizeof(k->accel)))
        return kxl_fail(ctx, -EXDEV,
                        "%s was saved on the %.16s accelerator and kxend runs %s: "
                        "their vCPU state is not interchangeable (soft keeps no segment "
                        "descriptors or interrupt state kvm needs; soft cannot run outside "
                        "long mode)",
                        source, k->accel, kxl_accel(ctx));
    return 0;
}

int kxl__image_restore(struct kxl_ctx *ctx, const struct kxl_domain_config *dc,
                       const struct kxl_image *img, bool paused, uint16_t *domid_out)
{
    struct kxl__loader ld = {load_image, (void *)img};
    int rc = kxl__domain_build(ctx, dc, paused, &ld, domid_out);
    /* A guest that suspended itself answers the next request too, but Linux writes its
     * control/feature-* nodes only at boot: without the node the next save or migration
     * would pause it instead, and its frontends would never reconnect on the far side. */
    const struct kxen_save_hdr *k = img->kx;
    if (rc == 0 && ctx->xs && (k->flags & KXEN_SAVE_SUSPENDED)) {
        char p[96];
        snprintf(p, sizeof(p), "/local/domain/%u/control/feature-suspend", *domid_out);
        if (kxl_xs_printf(ctx, XBT_NULL, p, "1") < 0) {
            kxl_domain_destroy(ctx, *domid_out);
            return kxl_fail(ctx, -EIO, "cannot write %s", p);
        }
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
    rc = kxl__image_read(ctx, r, source, &img);
    if (rc == 0 && (rc = kxl_sreader_at_end(r)) != 1) {
        kxl__image_free(&img);
        rc = kxl_fail(ctx, -EINVAL, "%s has data after the end of its stream", source);
    }
    kxl_sreader_close(r);
    if (rc < 0)
        return rc;
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
            kxl__image_free(&img);
            return kxl_fail(ctx, rc, "the config saved in %s is invalid: %s", source, err);
        }
        dc = &own;
    }
    rc = check_fit(ctx, dc, &img, source);
    if (rc == 0)
        rc = kxl__image_restore(ctx, dc, &img, paused, domid_out);
    if (!override && rc == 0 && dc_out)
        *dc_out = own;
    else if (!override)
        kxl_domain_config_free(&own);
    kxl__image_free(&img);
    return rc;
}
