/* The xl.cfg text of a running domain, read back from what the build wrote to xenstore
 * (/local/domain/N, /vm/<uuid>, the device frontends and their backends): the config a
 * save image carries when `xl save` is given none; and a config given to `xl save` or `xl
 * migrate -C` completed with the MAC addresses its vifs were built with. Strings are written
 * double-quoted with C escapes, which kxl_cfg_parse reads back as they were. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxl/cfg.h"
#include "kxl_internal.h"
#include "kxl_save.h"
#include "xenstore.h"

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static char *rd(struct kxl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *rd(struct kxl_ctx *ctx, const char *fmt, ...)
{
    char p[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof(p), fmt, ap);
    va_end(ap);
    return kxl_xs_read(ctx, p);
}

static void key_str(FILE *f, const char *key, const char *val)
{
    if (!val)
        return;
    fprintf(f, "%s = ", key);
    put_str(f, val);
    fputc('\n', f);
}

/* One list (disk or vif) of the frontends under device/<kind>. */
static void devices(struct kxl_ctx *ctx, FILE *f, uint16_t domid, const char *kind, const char *key)
{
    char p[96];
    unsigned n = 0;
    snprintf(p, sizeof(p), "/local/domain/%u/device/%s", domid, kind);
    char **ids = xs_directory(ctx->xs, XBT_NULL, p, &n);
    if (!ids || !n) {
        free(ids);
        return;
    }
    fprintf(f, "%s = [", key);
    for (unsigned i = 0; i < n; i++) {
        char *be = rd(ctx, "%s/%s/backend", p, ids[i]);
        if (!be)
            continue;
        char spec[1024];
        if (!strcmp(kind, "vbd")) {
            char *dev = rd(ctx, "%s/dev", be), *mode = rd(ctx, "%s/mode", be);
            char *params = rd(ctx, "%s/params", be);
            snprintf(spec, sizeof(spec), "vdev=%s,access=%s,target=%s", dev ? dev : "",
                     mode && !strcmp(mode, "w") ? "rw" : "ro", params ? params : "");
            free(dev), free(mode), free(params);
        } else {
            char *mac = rd(ctx, "%s/mac", be), *bridge = rd(ctx, "%s/bridge", be);
            char *ip = rd(ctx, "%s/ip", be), *name = rd(ctx, "%s/vifname", be);
            int len = snprintf(spec, sizeof(spec), "mac=%s,bridge=%s", mac ? mac : "",
                               bridge ? bridge : "");
            if (ip && len < (int)sizeof(spec))
                len += snprintf(spec + len, sizeof(spec) - (size_t)len, ",ip=%s", ip);
            if (name && len < (int)sizeof(spec))
                snprintf(spec + len, sizeof(spec) - (size_t)len, ",vifname=%s", name);
            free(mac), free(bridge), free(ip), free(name);
        }
        fputs(i ? ", " : " ", f);
        put_str(f, spec);
        free(be);
    }
    fputs(" ]\n", f);
    free(ids);
}

int kxl_domain_config_text(struct kxl_ctx *ctx, uint16_t domid, char **out)
{
    struct kxl_dominfo di;
    int rc = kxl_hv_getinfo(ctx, domid, false, &di);
    if (rc < 0)
        return kxl_fail(ctx, rc, "domain %u does not exist", domid);
    if (!ctx->xs)
        return kxl_fail(ctx, -ENOTCONN, "reading the config of domain %u needs xenstored", domid);
    /* An emulated PC's devices (IDE disks, COM1, the emulated NIC, the platform device) are
     * kxend's, not xenstore's: a config rebuilt from the tree would build another machine,
     * which the restore would refuse. */
    char *type = rd(ctx, "/local/domain/%u/image/os_type", domid);
    bool hvm = type && !strcmp(type, "hvm");
    free(type);
    if (hvm)
        return kxl_fail(ctx, -EOPNOTSUPP,
                        "domain %u is an HVM guest, whose emulated devices are not in "
                        "xenstore: give its config (xl save DOM FILE CFG, xl migrate -C CFG)",
                        domid);
    char *vm = rd(ctx, "/local/domain/%u/vm", domid);
    if (!vm)
        return kxl_fail(ctx, -ENOENT, "domain %u has no /local/domain/%u/vm: not built by xl",
                        domid, domid);
    size_t len = 0;
    char *text = NULL;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        free(vm);
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    }
    char uuid[37];
    kxl_format_uuid(di.uuid, uuid);
    fprintf(f, "# domain %u as saved by xl\n", domid);
    key_str(f, "name", di.name);
    key_str(f, "uuid", uuid);
    char *v = rd(ctx, "/local/domain/%u/image/os_type", domid);
    key_str(f, "type", v);
    free(v);
    /* memory = the RAM it was built with (what a restore must build again), not what it
     * holds after ballooning: the balloon travels in kxend's state. */
    uint64_t ram = 0;
    if (kxl__ram_size(ctx, domid, &ram) < 0)
        ram = di.memory_kb << 10;
    fprintf(f, "memory = %llu\nmaxmem = %llu\nvcpus = %u\n", (unsigned long long)(ram >> 20),
            (unsigned long long)(di.max_memory_kb >> 10), di.nr_vcpus);
    static const char *const keys[][2] = {{"image/kernel", "kernel"},
                                          {"image/cmdline", "cmdline"},
                                          {"on_poweroff", "on_poweroff"},
                                          {"on_reboot", "on_reboot"},
                                          {"on_crash", "on_crash"}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        v = rd(ctx, "%s/%s", vm, keys[i][0]);
        if (v && (*v || strcmp(keys[i][1], "cmdline")))
            key_str(f, keys[i][1], v);
        free(v);
    }
    devices(ctx, f, domid, "vbd", "disk");
    devices(ctx, f, domid, "vif", "vif");
    free(vm);
    if (fclose(f) != 0) {
        free(text);
        return kxl_fail(ctx, -ENOMEM, "out of memory");
    }
    *out = text;
    return 0;
}

/* A vif entry names its MAC when one of its comma-separated keys is mac=. */
static bool spec_has_mac(const char *spec)
{
    for (const char *p = spec; p; p = strchr(p, ',')) {
        p += *p == ',';
        p += strspn(p, " \t");
        if (!strncmp(p, "mac=", 4))
            return true;
    }
    return false;
}

int kxl__config_keep_macs(struct kxl_ctx *ctx, uint16_t domid, const char *text, char **out)
{
    *out = NULL;
    struct kxl_cfg cfg;
    char err[256];
    kxl_cfg_init(&cfg);
    if (!ctx->xs || kxl_cfg_parse(&cfg, "the config", text, strlen(text), err, sizeof(err)) < 0) {
        kxl_cfg_free(&cfg);
        return 0; /* the restore parses it again and reports what is wrong */
    }
    const struct kxl_cfg_entry *e = kxl_cfg_get(&cfg, "vif");
    size_t len = 0;
    char *buf = NULL;
    FILE *f = NULL;
    bool added = false;
    int rc = 0;
    if (e && e->val.kind == KXL_VAL_LIST && (f = open_memstream(&buf, &len)) == NULL)
        rc = -ENOMEM;
    if (f) {
        fprintf(f, "%s\n# the MAC addresses the vifs were built with\nvif = [", text);
        for (size_t i = 0; i < e->val.nr_items; i++) {
            const char *spec = e->val.items[i];
            /* devid i: a PV vif's backend holds the MAC the build chose (an emulated NIC's
             * travels in its model's saved registers). */
            char *be = spec_has_mac(spec)
                           ? NULL
                           : rd(ctx, "/local/domain/%u/device/vif/%zu/backend", domid, i);
            char *mac = be ? rd(ctx, "%s/mac", be) : NULL;
            fputs(i ? ", " : " ", f);
            char *both = NULL;
            if (mac && *mac && asprintf(&both, "%s%smac=%s", spec, *spec ? "," : "", mac) > 0) {
                put_str(f, both);
                added = true;
            } else {
                put_str(f, spec);
            }
            free(both), free(mac), free(be);
        }
        fputs(" ]\n", f);
        if (fclose(f) != 0)
            rc = -ENOMEM;
    }
    kxl_cfg_free(&cfg);
    if (rc < 0 || !added) {
        free(buf);
        return rc < 0 ? kxl_fail(ctx, rc, "out of memory") : 0;
    }
    *out = buf;
    return 0;
}
