/* Text for a dead ring's guard (hosted code only: uses snprintf). */
#include <stdio.h>

#include <kxen/ring_safe.h>

const char *kxen_ring_guard_describe(const struct kxen_ring_guard *g, char *buf, size_t len)
{
    if (!buf || !len)
        return "";
    if (!g || !g->dead)
        snprintf(buf, len, "ring healthy");
    else
        snprintf(buf, len, "%s (prod=%u cons=%u size=%u)", g->reason ? g->reason : "ring dead",
                 g->prod, g->cons, g->size);
    return buf;
}
