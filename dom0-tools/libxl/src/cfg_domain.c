/* The domain layer of xl.cfg: reads the keys kxen knows from a parsed kxl_cfg and validates
 * each one, naming the file and line of the offending setting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_internal.h"
#include "kxl/cfg.h"

#define KXL_MAX_MEMORY_MB (1024u * 1024u) /* 1 TiB: far above what one host gives a guest */

int kxl__cfg_err(char *err, size_t errlen, const struct kxl_cfg_entry *e, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "%s:%u: %s: ", e->file, e->line, e->key);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}

static const struct {
    const char *name;
    enum kxl_action a;
} actions[] = {
    {"destroy", KXL_ACTION_DESTROY},
    {"restart", KXL_ACTION_RESTART},
    {"rename-restart", KXL_ACTION_RENAME_RESTART},
    {"preserve", KXL_ACTION_PRESERVE},
    {"coredump-destroy", KXL_ACTION_COREDUMP_DESTROY},
    {"coredump-restart", KXL_ACTION_COREDUMP_RESTART},
    {"soft-reset", KXL_ACTION_SOFT_RESET},
};

int kxl_parse_action(const char *s, enum kxl_action *out)
{
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(s, actions[i].name) == 0) {
            *out = actions[i].a;
            return 0;
        }
    return -EINVAL;
}

const char *kxl_action_name(enum kxl_action a)
{
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (actions[i].a == a)
            return actions[i].name;
    return "?";
}

const char *kxl_domain_type_name(enum kxl_domain_type t)
{
    return t == KXL_TYPE_PV ? "pv" : t == KXL_TYPE_PVH ? "pvh" : "hvm";
}

int kxl_parse_uuid(const char *s, uint8_t uuid[16])
{
    /* 8-4-4-4-12 hex digits */
    static const int dash_at[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return -EINVAL;
    for (size_t i = 0, d = 0, b = 0; i < 36;) {
        if (d < 4 && (int)i == dash_at[d]) {
            if (s[i] != '-')
                return -EINVAL;
            d++;
            i++;
            continue;
        }
        char hx[3] = {s[i], s[i + 1], 0};
        char *end;
        if (!((hx[0] >= '0' && hx[0] <= '9') || (hx[0] | 0x20) >= 'a') ||
            !((hx[1] >= '0' && hx[1] <= '9') || (hx[1] | 0x20) >= 'a'))
            return -EINVAL;
        unsigned long v = strtoul(hx, &end, 16);
        if (*end)
            return -EINVAL;
        uuid[b++] = (uint8_t)v;
        i += 2;
    }
    return 0;
}

void kxl_format_uuid(const uint8_t u[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

int kxl_validate_domain_name(const char *name, char *why, size_t whylen)
{
    size_t len = strlen(name);
    int digits = 1;
    if (len == 0 || len > KXL_NAME_MAX) {
        snprintf(why, whylen, "domain name must be 1..%d characters", KXL_NAME_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '+' || c == '@' || c == ':')) {
            snprintf(why, whylen,
                     "domain name '%s' has a character outside "
                     "[A-Za-z0-9-_.+@:]",
                     name);
            return -EINVAL;
        }
        if (c < '0' || c > '9')
            digits = 0;
    }
    if (digits) {
        /* xl treats an all-digit argument as a domain id */
        snprintf(why, whylen, "domain name '%s' is all digits (it would read as a domain id)",
                 name);
        return -EINVAL;
    }
    if (strcmp(name, "Domain-0") == 0) {
        snprintf(why, whylen, "'Domain-0' is the control domain's name");
        return -EINVAL;
    }
    return 0;
}

static int get_string(const struct kxl_cfg_entry *e, const char **out, char *err, size_t errlen)
{
    if (e->val.kind != KXL_VAL_STRING)
        return kxl__cfg_err(err, errlen, e, "a quoted string is expected");
    *out = e->val.str;
    return 0;
}

/* Numbers may be written bare or quoted; both must be plain decimal. */
static int get_uint(const struct kxl_cfg_entry *e, uint64_t min, uint64_t max, uint64_t *out,
                    char *err, size_t errlen)
{
    if (e->val.kind == KXL_VAL_LIST)
        return kxl__cfg_err(err, errlen, e, "a number is expected, not a list");
    const char *s = e->val.str;
    char *end;
    if (!*s || *s < '0' || *s > '9')
        return kxl__cfg_err(err, errlen, e, "'%s' is not a number", s);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return kxl__cfg_err(err, errlen, e, "'%s' is not a number", s);
    if (errno || v < min || v > max)
        return kxl__cfg_err(err, errlen, e, "%s is out of range %llu..%llu", s,
                            (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return 0;
}

static int get_action(const struct kxl_cfg *cfg, const char *key, enum kxl_action *out, char *err,
                      size_t errlen)
{
    const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, key);
    const char *s = NULL;
    if (!e)
        return 0;
    int rc = get_string(e, &s, err, errlen);
    if (rc)
        return rc;
    if (kxl_parse_action(s, out) < 0)
        return kxl__cfg_err(err, errlen, e,
                            "unknown action '%s' (destroy, restart, "
                            "rename-restart, preserve, coredump-destroy, coredump-restart, "
                            "soft-reset)",
                            s);
    return 0;
}

void kxl_domain_config_free(struct kxl_domain_config *dc)
{
    free(dc->kernel);
    free(dc->ramdisk);
    free(dc->cmdline);
    for (size_t i = 0; i < dc->nr_disks; i++)
        kxl_disk_free(&dc->disks[i]);
    free(dc->disks);
    for (size_t i = 0; i < dc->nr_vifs; i++)
        kxl_vif_free(&dc->vifs[i]);
    free(dc->vifs);
    free(dc->hvm.firmware);
    memset(dc, 0, sizeof(*dc));
}

static int get_list(const struct kxl_cfg_entry *e, char *err, size_t errlen)
{
    if (e->val.kind != KXL_VAL_LIST)
        return kxl__cfg_err(err, errlen, e, "a list [ '...', ... ] is expected");
    return 0;
}

static int read_devices(struct kxl_domain_config *dc, const struct kxl_cfg *cfg, char *err,
                        size_t errlen)
{
    char why[256];
    const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, "disk");
    int rc;
    if (e) {
        if ((rc = get_list(e, err, errlen)))
            return rc;
        dc->disks = calloc(e->val.nr_items ? e->val.nr_items : 1, sizeof(*dc->disks));
        if (!dc->disks)
            return -ENOMEM;
        for (size_t i = 0; i < e->val.nr_items; i++) {
            rc = kxl_parse_disk_spec(e->val.items[i], &dc->disks[i], why, sizeof(why));
            if (rc == -EINVAL)
                return kxl__cfg_err(err, errlen, e, "entry %zu '%s': %s", i, e->val.items[i], why);
            if (rc)
                return rc;
            dc->nr_disks++;
            for (size_t j = 0; j < i; j++)
                if (dc->disks[j].virtual_dev == dc->disks[i].virtual_dev)
                    return kxl__cfg_err(err, errlen, e, "entry %zu: vdev %s is used twice", i,
                                        dc->disks[i].vdev);
        }
    }
    e = kxl_cfg_get(cfg, "vif");
    if (e) {
        if ((rc = get_list(e, err, errlen)))
            return rc;
        dc->vifs = calloc(e->val.nr_items ? e->val.nr_items : 1, sizeof(*dc->vifs));
        if (!dc->vifs)
            return -ENOMEM;
        for (size_t i = 0; i < e->val.nr_items; i++) {
            rc = kxl_parse_vif_spec(e->val.items[i], &dc->vifs[i], why, sizeof(why));
            if (rc == -EINVAL)
                return kxl__cfg_err(err, errlen, e, "entry %zu '%s': %s", i, e->val.items[i], why);
            if (rc)
                return rc;
            dc->nr_vifs++;
        }
    }
    return 0;
}

static int read_config(struct kxl_domain_config *dc, const struct kxl_cfg *cfg, char *err,
                       size_t errlen)
{
    const struct kxl_cfg_entry *e;
    const char *s = NULL;
    uint64_t v;
    char why[256];
    int rc;

    e = kxl_cfg_get(cfg, "name");
    if (!e) {
        const char *src = cfg->nr_sources ? cfg->sources[0] : "config";
        snprintf(err, errlen, "%s: no 'name' setting (every domain needs a name)", src);
        return -EINVAL;
    }
    if ((rc = get_string(e, &s, err, errlen)))
        return rc;
    if (kxl_validate_domain_name(s, why, sizeof(why)) < 0)
        return kxl__cfg_err(err, errlen, e, "%s", why);
    snprintf(dc->name, sizeof(dc->name), "%s", s);

    if ((e = kxl_cfg_get(cfg, "uuid"))) {
        if ((rc = get_string(e, &s, err, errlen)))
            return rc;
        if (kxl_parse_uuid(s, dc->uuid) < 0)
            return kxl__cfg_err(err, errlen, e,
                                "'%s' is not a UUID "
                                "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                                s);
        dc->has_uuid = true;
    }

    dc->type = KXL_TYPE_PV;
    if ((e = kxl_cfg_get(cfg, "builder"))) { /* the pre-4.10 spelling of type */
        if ((rc = get_string(e, &s, err, errlen)))
            return rc;
        if (!strcmp(s, "hvm"))
            dc->type = KXL_TYPE_HVM;
        else if (strcmp(s, "generic") != 0)
            return kxl__cfg_err(err, errlen, e, "unknown builder '%s' (generic or hvm)", s);
    }
    if ((e = kxl_cfg_get(cfg, "type"))) {
        if ((rc = get_string(e, &s, err, errlen)))
            return rc;
        if (!strcmp(s, "pv"))
            dc->type = KXL_TYPE_PV;
        else if (!strcmp(s, "pvh"))
            dc->type = KXL_TYPE_PVH;
        else if (!strcmp(s, "hvm"))
            dc->type = KXL_TYPE_HVM;
        else
            return kxl__cfg_err(err, errlen, e, "unknown type '%s' (pv, pvh or hvm)", s);
    }

    dc->memory_mb = 128;
    if ((e = kxl_cfg_get(cfg, "memory"))) {
        if ((rc = get_uint(e, 1, KXL_MAX_MEMORY_MB, &v, err, errlen)))
            return rc;
        dc->memory_mb = v;
    }
    dc->maxmem_mb = dc->memory_mb;
    if ((e = kxl_cfg_get(cfg, "maxmem"))) {
        if ((rc = get_uint(e, 1, KXL_MAX_MEMORY_MB, &v, err, errlen)))
            return rc;
        if (v < dc->memory_mb)
            return kxl__cfg_err(err, errlen, e, "maxmem %llu is below memory %llu",
                                (unsigned long long)v, (unsigned long long)dc->memory_mb);
        dc->maxmem_mb = v;
    }
    dc->vcpus = 1;
    if ((e = kxl_cfg_get(cfg, "vcpus"))) {
        if ((rc = get_uint(e, 1, KXL_MAX_VCPUS, &v, err, errlen)))
            return rc;
        dc->vcpus = (unsigned)v;
    }

    if ((e = kxl_cfg_get(cfg, "kernel"))) {
        if ((rc = get_string(e, &s, err, errlen)))
            return rc;
        if (!*s)
            return kxl__cfg_err(err, errlen, e, "empty kernel path");
        if (!(dc->kernel = strdup(s)))
            return -ENOMEM;
    } else if (dc->type != KXL_TYPE_HVM) {
        const char *src = cfg->nr_sources ? cfg->sources[0] : "config";
        snprintf(err, errlen, "%s: no 'kernel' setting (a %s guest boots a kernel image)", src,
                 kxl_domain_type_name(dc->type));
        return -EINVAL;
    }

    if ((e = kxl_cfg_get(cfg, "ramdisk"))) {
        if ((rc = get_string(e, &s, err, errlen)))
            return rc;
        if (!*s)
            return kxl__cfg_err(err, errlen, e, "empty ramdisk path");
        if (!(dc->ramdisk = strdup(s)))
            return -ENOMEM;
    }

    /* cmdline wins; otherwise Xen builds "root=<root> <extra>". */
    if ((e = kxl_cfg_get(cfg, "cmdline"))) {
        if ((rc = get_string(e, &s, err, errlen)))
            return rc;
        if (!(dc->cmdline = strdup(s)))
            return -ENOMEM;
    } else {
        const struct kxl_cfg_entry *root = kxl_cfg_get(cfg, "root");
        const struct kxl_cfg_entry *extra = kxl_cfg_get(cfg, "extra");
        const char *rs = "", *xs = "";
        if (root && (rc = get_string(root, &rs, err, errlen)))
            return rc;
        if (extra && (rc = get_string(extra, &xs, err, errlen)))
            return rc;
        if (asprintf(&dc->cmdline, "%s%s%s%s", *rs ? "root=" : "", rs, *rs && *xs ? " " : "", xs) <
            0) {
            dc->cmdline = NULL;
            return -ENOMEM;
        }
    }
    if (strlen(dc->cmdline) >= 1024) {
        e = kxl_cfg_get(cfg, "cmdline") ? kxl_cfg_get(cfg, "cmdline") : kxl_cfg_get(cfg, "extra");
        return kxl__cfg_err(err, errlen, e,
                            "command line longer than 1023 bytes "
                            "(start_info's MAX_GUEST_CMDLINE)");
    }

    /* Xen keys that would change what the guest boots or owns: silently dropping them would
     * start a different guest than the file describes, so they are refused by name. */
    static const struct {
        const char *key, *why;
    } unsupported[] = {
        {"bootloader", "kxen boots the 'kernel' image directly (no pygrub)"},
        {"pci", "there is no PCI passthrough on kxen"},
        {"device_model_override", "there is no device model on kxen"},
    };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if ((e = kxl_cfg_get(cfg, unsupported[i].key)))
            return kxl__cfg_err(err, errlen, e, "not supported: %s", unsupported[i].why);
    /* maxvcpus above vcpus asks for vCPU hot-plug (xl vcpu-set), which kxen lacks. */
    if ((e = kxl_cfg_get(cfg, "maxvcpus"))) {
        if ((rc = get_uint(e, 1, KXL_MAX_VCPUS, &v, err, errlen)))
            return rc;
        if (v != dc->vcpus)
            return kxl__cfg_err(err, errlen, e,
                                "%llu differs from vcpus %u: vCPU hot-plug is not supported",
                                (unsigned long long)v, dc->vcpus);
    }

    /* A driver domain (libxl's key): its backend tree is made writable for it. */
    if ((e = kxl_cfg_get(cfg, "driver_domain"))) {
        if ((rc = get_uint(e, 0, 1, &v, err, errlen)))
            return rc;
        dc->driver_domain = v == 1;
    }

    dc->on_poweroff = KXL_ACTION_DESTROY;
    dc->on_reboot = KXL_ACTION_RESTART;
    dc->on_crash = KXL_ACTION_DESTROY;
    dc->on_watchdog = KXL_ACTION_DESTROY;
    if ((rc = get_action(cfg, "on_poweroff", &dc->on_poweroff, err, errlen)) ||
        (rc = get_action(cfg, "on_reboot", &dc->on_reboot, err, errlen)) ||
        (rc = get_action(cfg, "on_crash", &dc->on_crash, err, errlen)) ||
        (rc = get_action(cfg, "on_watchdog", &dc->on_watchdog, err, errlen)))
        return rc;
    if (dc->type == KXL_TYPE_HVM && (rc = kxl__cfg_hvm_read(dc, cfg, err, errlen)))
        return rc;
    return read_devices(dc, cfg, err, errlen);
}

int kxl_domain_config_from_cfg(struct kxl_domain_config *dc, const struct kxl_cfg *cfg, char *err,
                               size_t errlen)
{
    memset(dc, 0, sizeof(*dc));
    int rc = read_config(dc, cfg, err, errlen);
    if (rc)
        kxl_domain_config_free(dc);
    return rc;
}
