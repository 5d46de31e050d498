/* Per-domain rate limiting of log lines a guest can trigger (kxen/log.h, klog_dom).
 * Invariant: a domain's lines are written at most KLOG_DOM_BURST at once and then one per
 * KLOG_DOM_INTERVAL_MS, whatever the guest does; every line dropped is counted and the count
 * is written before the domain's next line (or when the domain is forgotten). Buckets are
 * allocated on first use and indexed by domain id, so a host with many domains costs one
 * small table, never a fixed cap. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include "kxen/log.h"
#include "kxen/util.h"

/* Xen's domain ids: 0..0x7fef are domains, the rest are reserved; those share one bucket. */
#define NR_BUCKETS 0x7ff1u

struct bucket {
    uint64_t last_ns;    /* when tokens was last refilled */
    uint32_t tokens;     /* lines that may be written now */
    uint32_t suppressed; /* lines dropped since the last one written */
    bool used;
};

static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket *buckets;

static struct bucket *bucket_of(unsigned domid)
{
    if (!buckets && !(buckets = calloc(NR_BUCKETS, sizeof(*buckets))))
        return NULL;
    return &buckets[domid < NR_BUCKETS ? domid : NR_BUCKETS - 1];
}

/* Under buckets_lock: true when the line may be written; *dropped = lines to report first. */
static bool take_token(struct bucket *b, uint32_t *dropped)
{
    uint64_t now = kxen_now_ns(), step = (uint64_t)KLOG_DOM_INTERVAL_MS * 1000000u;
    if (!b->used) {
        b->used = true;
        b->tokens = KLOG_DOM_BURST;
        b->last_ns = now;
    } else if (now - b->last_ns >= step) {
        uint64_t add = (now - b->last_ns) / step;
        b->tokens = (uint32_t)KXEN_MIN((uint64_t)KLOG_DOM_BURST, b->tokens + add);
        b->last_ns += add * step;
    }
    *dropped = 0;
    if (b->tokens == 0) {
        if (b->suppressed < UINT32_MAX)
            b->suppressed++;
        return false;
    }
    b->tokens--;
    *dropped = b->suppressed;
    b->suppressed = 0;
    return true;
}

void klog_dom(enum klog_level level, unsigned domid, const char *fmt, ...)
{
    if (level > klog_get_level())
        return;
    int saved = errno;
    uint32_t dropped = 0;
    pthread_mutex_lock(&buckets_lock);
    struct bucket *b = bucket_of(domid);
    bool write = !b || take_token(b, &dropped);
    pthread_mutex_unlock(&buckets_lock);
    if (dropped)
        klog(KLOG_WARN, "d%u: %u messages suppressed", domid, dropped);
    if (write) {
        va_list ap;
        va_start(ap, fmt);
        errno = saved;
        vklog(level, fmt, ap);
        va_end(ap);
    }
    errno = saved;
}

void klog_dom_forget(unsigned domid)
{
    uint32_t dropped = 0;
    pthread_mutex_lock(&buckets_lock);
    if (buckets) {
        struct bucket *b = &buckets[domid < NR_BUCKETS ? domid : NR_BUCKETS - 1];
        dropped = b->suppressed;
        *b = (struct bucket){0};
    }
    pthread_mutex_unlock(&buckets_lock);
    if (dropped)
        klog(KLOG_WARN, "d%u: %u messages suppressed", domid, dropped);
}
