/* The device models' option strings: comma-separated key=value pairs, parsed without
 * allocating. Every key a model does not know is its own -EINVAL. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"

int dev_opts_each(const char *options, int (*fn)(void *ctx, const char *key, const char *val),
                  void *ctx)
{
    const char *p = options;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char pair[256];
        if (len == 0 || len >= sizeof(pair))
            return -EINVAL;
        memcpy(pair, p, len);
        pair[len] = '\0';
        char *eq = strchr(pair, '=');
        const char *val = "";
        if (eq) {
            *eq = '\0';
            val = eq + 1;
        }
        if (!pair[0])
            return -EINVAL;
        int rc = fn(ctx, pair, val);
        if (rc)
            return rc;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

int dev_opt_u64(const char *val, uint64_t max, uint64_t *out)
{
    char *end;
    if (!val || !*val || *val == '-')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(val, &end, 0);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}
