/* The keys of xl.cfg that shape an emulated PC (Xen's xl.cfg "Fully-virtualised (HVM) guest
 * specific options"): firmware (bios, firmware, bios_path_override), boot order, the serial
 * port, the Xen platform device, ACPI. Display keys (vga, vnc, sdl, ...) are ignored as any other
 * key xl does not know: kxen's PC has no display. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_internal.h"

static int str_of(const struct kxl_cfg_entry *e, const char **out, char *err, size_t errlen)
{
    if (e->val.kind != KXL_VAL_STRING)
        return kxl__cfg_err(err, errlen, e, "a quoted string is expected");
    *out = e->val.str;
    return 0;
}

/* firmware = "bios"/"seabios" and bios = "seabios" name SeaBIOS; Xen's other firmwares
 * (OVMF, ROMBIOS) are not shipped with kxen. */
static int read_firmware(struct kxl_hvm *h, const struct kxl_cfg *cfg, char *err, size_t errlen)
{
    static const char *const keys[] = {"firmware", "bios"};
    const char *s = NULL;
    int rc;
    for (size_t i = 0; i < 2; i++) {
        const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, keys[i]);
        if (!e)
            continue;
        if ((rc = str_of(e, &s, err, errlen)))
            return rc;
        if (strcmp(s, "bios") && strcmp(s, "seabios"))
            return kxl__cfg_err(err, errlen, e,
                                "'%s' is not available: kxen boots HVM guests with SeaBIOS only "
                                "(firmware = \"seabios\")",
                                s);
    }
    const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, "bios_path_override");
    if (e && (rc = str_of(e, &s, err, errlen)))
        return rc;
    if (e && !*s)
        return kxl__cfg_err(err, errlen, e, "empty path");
    h->firmware = strdup(e ? s : KXL_HVM_BIOS_DEFAULT);
    return h->firmware ? 0 : -ENOMEM;
}

static int read_boot(struct kxl_hvm *h, const struct kxl_cfg *cfg, char *err, size_t errlen)
{
    const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, "boot");
    const char *s = "cd";
    int rc;
    if (e && (rc = str_of(e, &s, err, errlen)))
        return rc;
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(h->boot) || strspn(s, "acdn") != n)
        return kxl__cfg_err(err, errlen, e,
                            "'%s' is not a boot order (up to 4 of a floppy, c disk, d cdrom, n "
                            "network)",
                            s);
    snprintf(h->boot, sizeof(h->boot), "%s", s);
    return 0;
}

/* serial = "pty" or ["pty"]: COM1 only. */
static int read_serial(struct kxl_hvm *h, const struct kxl_cfg *cfg, char *err, size_t errlen)
{
    const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, "serial");
    if (!e)
        return 0;
    const char *s = e->val.kind == KXL_VAL_LIST ? NULL : e->val.str;
    if (e->val.kind == KXL_VAL_LIST) {
        if (e->val.nr_items > 1)
            return kxl__cfg_err(err, errlen, e, "one serial port (COM1) only");
        s = e->val.nr_items ? e->val.items[0] : "none";
    }
    if (!strcmp(s, "pty"))
        h->serial_pty = true;
    else if (strcmp(s, "none") != 0)
        return kxl__cfg_err(err, errlen, e, "'%s': kxen's COM1 is \"pty\" or \"none\"", s);
    return 0;
}

/* A 0-or-1 key (default def). */
static int read_bool(const struct kxl_cfg *cfg, const char *key, bool def, bool *out, char *err,
                     size_t errlen)
{
    *out = def;
    const struct kxl_cfg_entry *e = kxl_cfg_get(cfg, key);
    if (!e)
        return 0;
    const char *s = e->val.kind == KXL_VAL_LIST ? "" : e->val.str;
    if (strcmp(s, "0") && strcmp(s, "1"))
        return kxl__cfg_err(err, errlen, e, "0 or 1 is expected");
    *out = s[0] == '1';
    return 0;
}

int kxl__cfg_hvm_read(struct kxl_domain_config *dc, const struct kxl_cfg *cfg, char *err,
                      size_t errlen)
{
    struct kxl_hvm *h = &dc->hvm;
    int rc;
    if ((rc = read_firmware(h, cfg, err, errlen)) || (rc = read_boot(h, cfg, err, errlen)) ||
        (rc = read_serial(h, cfg, err, errlen)) ||
        (rc = read_bool(cfg, "xen_platform_pci", true, &h->xen_platform_pci, err, errlen)) ||
        (rc = read_bool(cfg, "acpi", true, &h->acpi, err, errlen)))
        return rc;
    return 0;
}
