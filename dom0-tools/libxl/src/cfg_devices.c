/* Disk and vif specs of xl.cfg: the facts of Xen's xl-disk-configuration and
 * xl-network-configuration documents (keys, positional form, legacy target prefixes, the
 * virtual-device number encoding of docs/misc/vbd-interface), checked strictly. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxl/cfg.h"

static int why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Disk letters are bijective base 26: a..z = 0..25, aa = 26, ... Returns chars consumed. */
static int parse_disk_letters(const char *s, unsigned *disk)
{
    unsigned v = 0;
    int n = 0;
    while (s[n] >= 'a' && s[n] <= 'z') {
        if (v > (1u << 20))
            return -1;
        v = v * 26 + (unsigned)(s[n] - 'a' + 1);
        n++;
    }
    if (n == 0)
        return -1;
    *disk = v - 1;
    return n;
}

static int parse_small_uint(const char *s, unsigned *out, unsigned max)
{
    if (!*s || (s[0] == '0' && s[1]))
        return -1;
    unsigned v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* Encodes a vdev name as Xen's vbd number (xvd: major 202 or the extended 1<<28 form; hd:
 * majors 3 and 22, 64 minors a disk; sd: major 8; dN[pM]: like xvd). */
static int vdev_encode(const char *vdev, uint32_t *out)
{
    unsigned disk, part = 0;
    const char *rest;
    int n;
    if (strncmp(vdev, "xvd", 3) == 0 || strncmp(vdev, "sd", 2) == 0 ||
        strncmp(vdev, "hd", 2) == 0) {
        int plen = vdev[0] == 'x' ? 3 : 2;
        n = parse_disk_letters(vdev + plen, &disk);
        if (n < 0)
            return -1;
        rest = vdev + plen + n;
        if (*rest && parse_small_uint(rest, &part, 255) < 0)
            return -1;
        if (vdev[0] == 'h') {
            if (disk > 3 || part > 63)
                return -1;
            *out = ((disk < 2 ? 3u : 22u) << 8) | ((disk & 1) * 64 + part);
            return 0;
        }
        if (vdev[0] == 's') {
            if (disk > 15 || part > 15)
                return -1;
            *out = (8u << 8) | (disk << 4) | part;
            return 0;
        }
    } else if (vdev[0] == 'd' && vdev[1] >= '0' && vdev[1] <= '9') {
        char num[16];
        const char *p = strchr(vdev, 'p');
        size_t dl = p ? (size_t)(p - vdev - 1) : strlen(vdev + 1);
        if (dl == 0 || dl >= sizeof(num))
            return -1;
        memcpy(num, vdev + 1, dl);
        num[dl] = '\0';
        if (parse_small_uint(num, &disk, (1u << 20) - 1) < 0)
            return -1;
        if (p && parse_small_uint(p + 1, &part, 255) < 0)
            return -1;
    } else {
        return -1;
    }
    if (disk < 16 && part < 16)
        *out = (202u << 8) | (disk << 4) | part;
    else if (disk < (1u << 20))
        *out = (1u << 28) | (disk << 8) | part;
    else
        return -1;
    return 0;
}

static int parse_format(const char *s, enum kxl_disk_format *f)
{
    static const struct {
        const char *name;
        enum kxl_disk_format f;
    } formats[] = {
        {"raw", KXL_DISK_RAW}, {"qcow", KXL_DISK_QCOW}, {"qcow2", KXL_DISK_QCOW2},
        {"vhd", KXL_DISK_VHD}, {"qed", KXL_DISK_QED},   {"empty", KXL_DISK_EMPTY},
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(s, formats[i].name) == 0) {
            *f = formats[i].f;
            return 0;
        }
    return -1;
}

/* Legacy "prefix:" forms of a target: phy:, file:, aio:, tap:<fmt>:, tap2:tapdisk:<fmt>:,
 * and bare format prefixes. Returns the target after the prefixes. */
static const char *strip_target_prefixes(const char *t, struct kxl_disk *d)
{
    for (;;) {
        if (strncmp(t, "phy:", 4) == 0) {
            d->backendtype = KXL_DISK_BT_PHY;
            t += 4;
        } else if (strncmp(t, "file:", 5) == 0 || strncmp(t, "aio:", 4) == 0) {
            d->format = KXL_DISK_RAW;
            t = strchr(t, ':') + 1;
        } else if (strncmp(t, "tap:", 4) == 0 || strncmp(t, "tap2:", 5) == 0 ||
                   strncmp(t, "tapdisk:", 8) == 0) {
            d->backendtype = KXL_DISK_BT_TAP;
            t = strchr(t, ':') + 1;
        } else {
            const char *c = strchr(t, ':');
            char pfx[8];
            enum kxl_disk_format f;
            if (c && (size_t)(c - t) < sizeof(pfx)) {
                memcpy(pfx, t, c - t);
                pfx[c - t] = '\0';
                if (parse_format(pfx, &f) == 0) {
                    d->format = f;
                    t = c + 1;
                    continue;
                }
            }
            return t;
        }
    }
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : -ENOMEM;
}

void kxl_disk_free(struct kxl_disk *d)
{
    free(d->target);
    free(d->vdev);
    free(d->backend);
    free(d->script);
    memset(d, 0, sizeof(*d));
}

static int disk_set(struct kxl_disk *d, const char *key, const char *val, char *why, size_t whylen)
{
    if (strcmp(key, "target") == 0)
        return set_str(&d->target, strip_target_prefixes(val, d));
    if (strcmp(key, "vdev") == 0)
        return set_str(&d->vdev, val);
    if (strcmp(key, "format") == 0) {
        if (parse_format(val, &d->format) < 0)
            return why_set(why, whylen,
                           "unknown format '%s' (raw, qcow, qcow2, vhd, qed, "
                           "empty)",
                           val);
        return 0;
    }
    if (strcmp(key, "access") == 0) {
        if (!strcmp(val, "rw") || !strcmp(val, "w"))
            d->readwrite = true;
        else if (!strcmp(val, "ro") || !strcmp(val, "r"))
            d->readwrite = false;
        else
            return why_set(why, whylen, "access must be ro, r, rw or w, not '%s'", val);
        return 0;
    }
    if (strcmp(key, "devtype") == 0) {
        if (strcmp(val, "cdrom") != 0 && strcmp(val, "disk") != 0)
            return why_set(why, whylen, "devtype must be cdrom or disk, not '%s'", val);
        d->cdrom = strcmp(val, "cdrom") == 0;
        return 0;
    }
    if (strcmp(key, "backendtype") == 0) {
        if (!strcmp(val, "phy"))
            d->backendtype = KXL_DISK_BT_PHY;
        else if (!strcmp(val, "qdisk"))
            d->backendtype = KXL_DISK_BT_QDISK;
        else if (!strcmp(val, "tap"))
            d->backendtype = KXL_DISK_BT_TAP;
        else
            return why_set(why, whylen, "backendtype must be phy, qdisk or tap, not '%s'", val);
        return 0;
    }
    if (strcmp(key, "backend") == 0)
        return set_str(&d->backend, val);
    if (strcmp(key, "script") == 0)
        return set_str(&d->script, val);
    return why_set(why, whylen, "unknown disk parameter '%s'", key);
}

int kxl_parse_disk_spec(const char *spec, struct kxl_disk *d, char *why, size_t whylen)
{
    memset(d, 0, sizeof(*d));
    d->readwrite = true;
    char *copy = strdup(spec);
    if (!copy)
        return -ENOMEM;
    char *pos[4];
    unsigned npos = 0;
    int rc = 0;
    char *tok = copy;
    while (tok && rc == 0) {
        while (*tok == ' ')
            tok++;
        /* target= swallows the rest: a path may contain commas. */
        if (strncmp(tok, "target=", 7) == 0) {
            rc = disk_set(d, "target", tok + 7, why, whylen);
            break;
        }
        char *next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        char *eq = strchr(tok, '=');
        if (*tok == '\0') {
            /* empty positional (e.g. ",,hdc,ro"): counts as missing */
            if (npos < 4)
                pos[npos++] = tok;
        } else if (eq) {
            *eq = '\0';
            rc = disk_set(d, tok, eq + 1, why, whylen);
        } else if (strcmp(tok, "cdrom") == 0) {
            d->cdrom = true;
        } else if (strcmp(tok, "discard") == 0 || strcmp(tok, "no-discard") == 0) {
            d->no_discard = tok[0] == 'n';
        } else if (strcmp(tok, "direct-io-safe") == 0) {
            d->direct_io_safe = true;
        } else if (npos < 4) {
            pos[npos++] = tok;
        } else {
            rc = why_set(why, whylen,
                         "too many positional parameters (at most target, "
                         "format, vdev, access)");
        }
        tok = next;
    }
    if (rc == 0 && npos > 0) {
        enum kxl_disk_format f;
        const char *target = pos[0], *format = NULL, *vdev = NULL, *access = NULL;
        if (npos == 4) {
            format = pos[1], vdev = pos[2], access = pos[3];
        } else if (npos == 3) {
            if (parse_format(pos[1], &f) == 0)
                format = pos[1], vdev = pos[2];
            else
                vdev = pos[1], access = pos[2]; /* the legacy target,vdev,access form */
        } else if (npos == 2) {
            vdev = pos[1];
        }
        if (*target)
            rc = disk_set(d, "target", target, why, whylen);
        if (rc == 0 && format && *format)
            rc = disk_set(d, "format", format, why, whylen);
        if (rc == 0 && vdev && *vdev)
            rc = disk_set(d, "vdev", vdev, why, whylen);
        if (rc == 0 && access && *access)
            rc = disk_set(d, "access", access, why, whylen);
    }
    free(copy);
    if (rc == 0 && !d->vdev)
        rc = why_set(why, whylen, "no vdev given (e.g. vdev=xvda)");
    if (rc == 0 && vdev_encode(d->vdev, &d->virtual_dev) < 0)
        rc = why_set(why, whylen, "invalid vdev '%s' (xvdX[N], hdX[N], sdX[N] or dN[pM])", d->vdev);
    if (rc == 0 && (!d->target || !*d->target) && !d->cdrom)
        rc = why_set(why, whylen, "no target given (only an empty cdrom may omit it)");
    if (rc == 0 && !d->target && d->cdrom)
        d->format = KXL_DISK_EMPTY;
    if (rc)
        kxl_disk_free(d);
    return rc;
}

void kxl_vif_free(struct kxl_vif *v)
{
    free(v->bridge);
    free(v->ip);
    free(v->script);
    free(v->vifname);
    free(v->model);
    free(v->backend);
    free(v->rate);
    memset(v, 0, sizeof(*v));
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int h = (s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'f') ||
                (s[0] >= 'A' && s[0] <= 'F');
        int l = (s[1] >= '0' && s[1] <= '9') || (s[1] >= 'a' && s[1] <= 'f') ||
                (s[1] >= 'A' && s[1] <= 'F');
        if (!h || !l)
            return -1;
        char b[3] = {s[0], s[1], 0};
        mac[i] = (uint8_t)strtoul(b, NULL, 16);
        s += 2;
        if (i < 5 && *s++ != ':')
            return -1;
    }
    return *s ? -1 : 0;
}

/* rate: <number><K|M|G>?<b|B>/s with an optional @<number><s|ms|us> replenish interval. */
static int valid_rate(const char *s)
{
    const char *p = s;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == 'K' || *p == 'M' || *p == 'G')
        p++;
    if (*p != 'b' && *p != 'B')
        return 0;
    p++;
    if (strncmp(p, "/s", 2) != 0)
        return 0;
    p += 2;
    if (*p == '\0')
        return 1;
    if (*p++ != '@' || *p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return !strcmp(p, "s") || !strcmp(p, "ms") || !strcmp(p, "us");
}

int kxl_parse_vif_spec(const char *spec, struct kxl_vif *v, char *why, size_t whylen)
{
    memset(v, 0, sizeof(*v));
    char *copy = strdup(spec);
    if (!copy)
        return -ENOMEM;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        char *eq = strchr(tok, '=');
        if (!eq) {
            rc = why_set(why, whylen, "'%s' is not key=value", tok);
            break;
        }
        *eq = '\0';
        const char *key = tok, *val = eq + 1;
        if (strcmp(key, "mac") == 0) {
            if (parse_mac(val, v->mac) < 0)
                rc = why_set(why, whylen, "invalid mac '%s' (six hex pairs: 00:16:3e:12:34:56)",
                             val);
            else if (v->mac[0] & 1)
                rc = why_set(why, whylen, "mac '%s' is a multicast address", val);
            else
                v->has_mac = true;
        } else if (strcmp(key, "bridge") == 0) {
            rc = set_str(&v->bridge, val);
        } else if (strcmp(key, "ip") == 0) {
            rc = set_str(&v->ip, val);
        } else if (strcmp(key, "script") == 0) {
            rc = set_str(&v->script, val);
        } else if (strcmp(key, "vifname") == 0) {
            if (strlen(val) == 0 || strlen(val) > 15)
                rc = why_set(why, whylen, "vifname '%s' must be 1..15 characters", val);
            else
                rc = set_str(&v->vifname, val);
        } else if (strcmp(key, "model") == 0) {
            rc = set_str(&v->model, val);
        } else if (strcmp(key, "backend") == 0) {
            rc = set_str(&v->backend, val);
        } else if (strcmp(key, "rate") == 0) {
            if (!valid_rate(val))
                rc = why_set(why, whylen, "invalid rate '%s' (e.g. 10Mb/s or 1MB/s@20ms)", val);
            else
                rc = set_str(&v->rate, val);
        } else if (strcmp(key, "type") == 0) {
            if (strcmp(val, "vif") && strcmp(val, "ioemu"))
                rc = why_set(why, whylen, "type must be vif or ioemu, not '%s'", val);
            else
                v->type_ioemu = strcmp(val, "ioemu") == 0;
        } else {
            rc = why_set(why, whylen, "unknown vif parameter '%s'", key);
        }
    }
    free(copy);
    if (rc)
        kxl_vif_free(v);
    return rc;
}
