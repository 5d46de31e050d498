/* Key helpers of the backend core: the only place a device's key becomes a xenstore path, and
 * the only integer parser for values read from xenstore. Every value is hostile: read into a
 * bounded buffer, parsed strictly (no atoi: "12abc", " 1", "-1", "01" and overflow all fail). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

int xenbus_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    if (s[0] == '0' && s[1] != '\0')
        return -EINVAL;
    uint64_t v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return -EINVAL;
        unsigned int d = (unsigned int)(*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A key is a relative path of plain components: no leading or doubled '/', no "." or "..". */
static bool key_ok(const char *key)
{
    size_t n = strnlen(key, XENBUS_PATH_MAX);
    if (n == 0 || n >= XENBUS_PATH_MAX / 2 || key[0] == '/' || key[n - 1] == '/')
        return false;
    if (strstr(key, "//") || strstr(key, ".."))
        return false;
    return true;
}

static int key_path(struct xenbus_device *dev, enum xenbus_end end, const char *key, char *path)
{
    if (!key_ok(key))
        return -EINVAL;
    const char *dir = end == XENBUS_BACKEND ? dev->be_path : dev->fe_path;
    int n = snprintf(path, XENBUS_PATH_MAX, "%s/%s", dir, key);
    return n < 0 || n >= XENBUS_PATH_MAX ? -ENAMETOOLONG : 0;
}

int xenbus_read_key(struct xenbus_device *dev, enum xenbus_end end, const char *key, char *buf,
                    size_t len)
{
    char path[XENBUS_PATH_MAX];
    int rc = key_path(dev, end, key, path);
    if (rc)
        return rc;
    struct xenbus_platform *p = xenbus_backend_platform(dev->be);
    return p->ops->xs_read(p, XENBUS_TXN_NULL, path, buf, len);
}

int xenbus_scan_uint(struct xenbus_device *dev, enum xenbus_end end, const char *key, uint64_t max,
                     uint64_t *out)
{
    char buf[32];
    int rc = xenbus_read_key(dev, end, key, buf, sizeof(buf));
    if (rc == -EOVERFLOW)
        return -EINVAL; /* longer than any valid number */
    if (rc < 0)
        return rc;
    return xenbus_parse_uint(buf, max, out);
}

int xenbus_scan_uint_default(struct xenbus_device *dev, enum xenbus_end end, const char *key,
                             uint64_t max, uint64_t def, uint64_t *out)
{
    int rc = xenbus_scan_uint(dev, end, key, max, out);
    if (rc == -ENOENT) {
        *out = def;
        return 0;
    }
    return rc;
}

static int vprintf_key(struct xenbus_device *dev, xenbus_txn_t t, enum xenbus_end end,
                       const char *key, const char *fmt, va_list ap)
{
    char path[XENBUS_PATH_MAX], val[XENBUS_VALUE_MAX];
    int rc = key_path(dev, end, key, path);
    if (rc)
        return rc;
    int n = vsnprintf(val, sizeof(val), fmt, ap);
    if (n < 0 || (size_t)n >= sizeof(val))
        return -EOVERFLOW;
    struct xenbus_platform *p = xenbus_backend_platform(dev->be);
    return p->ops->xs_write(p, t, path, val);
}

int xenbus_printf(struct xenbus_device *dev, xenbus_txn_t t, enum xenbus_end end, const char *key,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vprintf_key(dev, t, end, key, fmt, ap);
    va_end(ap);
    return rc;
}

int xenbus_gather(struct xenbus_device *dev, enum xenbus_end end,
                  const struct xenbus_gather_uint *keys, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++) {
        int rc = xenbus_scan_uint(dev, end, keys[i].key, keys[i].max, keys[i].out);
        if (rc == -ENOENT && keys[i].optional)
            continue;
        if (rc)
            return rc;
    }
    return 0;
}

/* Transactions that conflict are retried; a store that conflicts this often is broken. */
#define XENBUS_TXN_RETRIES 16

int xenbus_transact(struct xenbus_platform *p, int (*body)(xenbus_txn_t t, void *arg), void *arg)
{
    for (int attempt = 0; attempt < XENBUS_TXN_RETRIES; attempt++) {
        xenbus_txn_t t;
        int rc = p->ops->xs_transaction_start(p, &t);
        if (rc)
            return rc;
        rc = body(t, arg);
        if (rc) {
            p->ops->xs_transaction_end(p, t, true);
            return rc;
        }
        rc = p->ops->xs_transaction_end(p, t, false);
        if (rc != -EAGAIN)
            return rc;
    }
    return -EAGAIN;
}

struct features_txn {
    struct xenbus_device *dev;
    const struct xenbus_kv *kv;
    unsigned int n;
};

static int write_features_body(xenbus_txn_t t, void *arg)
{
    const struct features_txn *f = arg;
    int rc = 0;
    for (unsigned int i = 0; i < f->n && !rc; i++)
        rc = xenbus_printf(f->dev, t, XENBUS_BACKEND, f->kv[i].key, "%s", f->kv[i].value);
    return rc;
}

int xenbus_write_features(struct xenbus_device *dev, const struct xenbus_kv *kv, unsigned int n)
{
    struct features_txn f = {dev, kv, n};
    return xenbus_transact(xenbus_backend_platform(dev->be), write_features_body, &f);
}
