/* Validation of peer-supplied paths, domain ids and permission strings: every request's path,
 * domid and perm goes through one of these helpers before the store sees it. */
#include "xenstored.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xs_domid_parse(const char *s, uint32_t *out)
{
    /* Decimal only, no sign, no leading junk: what Xen's tools send. */
    if (!s || !*s || strlen(s) > 10)
        return -EINVAL;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v >= XS_DOMID_FIRST_RESERVED)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int xs_perm_parse(const char *s, struct xs_perm *out)
{
    if (!s || !*s)
        return -EINVAL;
    switch (s[0]) {
    case 'n':
        out->perm = XS_PERM_NONE;
        break;
    case 'r':
        out->perm = XS_PERM_READ;
        break;
    case 'w':
        out->perm = XS_PERM_WRITE;
        break;
    case 'b':
        out->perm = XS_PERM_READ | XS_PERM_WRITE;
        break;
    default:
        return -EINVAL;
    }
    return xs_domid_parse(s + 1, &out->domid);
}

unsigned xs_perm_for(uint32_t domid, uint32_t target, const struct xs_perm *p, uint32_t n,
                     unsigned want)
{
    const unsigned all = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
    if (n == 0)
        return 0;
    /* The owner (or the domain acting for the owner as its target) may do everything. */
    if (p[0].domid == domid || (target != XS_NO_TARGET && p[0].domid == target))
        return all & want;
    for (uint32_t i = 1; i < n; i++)
        if (p[i].domid == domid || (target != XS_NO_TARGET && p[i].domid == target))
            return p[i].perm & want;
    return p[0].perm & want;
}

static bool path_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '/' || c == '_' || c == '@';
}

bool xs_path_is_special(const char *path)
{
    return path[0] == '@';
}

bool xs_path_is_child(const char *child, const char *path)
{
    size_t n = strlen(path);
    if (n == 1 && path[0] == '/')
        return child[0] == '/';
    return strncmp(child, path, n) == 0 && (child[n] == '\0' || child[n] == '/');
}

/* Chars below "/local/domain/<id>/": what the per-domain path-max quota limits. */
static size_t below_home(const char *p)
{
    static const char pre[] = "/local/domain/";
    if (strncmp(p, pre, sizeof(pre) - 1) != 0)
        return strlen(p);
    p += sizeof(pre) - 1;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '/')
        p++;
    return strlen(p);
}

int xs_path_canonical(uint32_t domid, bool unprivileged, uint32_t path_max, const char *in,
                      bool allow_special, char *buf, size_t len)
{
    if (!in || !*in)
        return -EINVAL;
    int r;
    if (in[0] == '/' || in[0] == '@')
        r = snprintf(buf, len, "%s", in);
    else
        r = snprintf(buf, len, "/local/domain/%u/%s", domid, in);
    if (r < 0 || (size_t)r >= len || r > XENSTORE_ABS_PATH_MAX)
        return -EINVAL;
    if (buf[0] == '@' && !allow_special)
        return -EINVAL;
    for (const char *p = buf; *p; p++) {
        if (!path_char_ok(*p))
            return -EINVAL;
        if (p[0] == '/' && p[1] == '/')
            return -EINVAL;
    }
    if (r > 1 && buf[r - 1] == '/')
        return -EINVAL;
    if (buf[0] == '@')
        return r > 1 ? 0 : -EINVAL;
    if (unprivileged && below_home(buf) > path_max)
        return -EINVAL;
    return 0;
}
