/* __HYPERVISOR_console_io and the hypervisor console rings: each domain's own output and the
 * global ring `xl dmesg` reads (guest lines prefixed "(dN) "). Rings keep the newest bytes.
 * Invariant: a read never returns a byte before the ring's floor (what a clear dropped: only
 * bytes the clearing reader had been given) and its end is always the total written, so a
 * reader loops until it has caught up. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kxen/xen.h>

#include "core.h"
#include "kxen/util.h"
#include "kxend/guest_mem.h"
#include "kxend/hypercall.h"

struct ring {
    char *buf;
    uint64_t total; /* bytes ever written */
    uint64_t floor; /* bytes before this offset were cleared */
};

static pthread_mutex_t hv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ring hv_ring;
static bool hv_line_start = true;

static void ring_put(char **bufp, uint64_t *total, const char *s, size_t len)
{
    if (!*bufp && !(*bufp = malloc(KXEN_CONSOLE_RING)))
        return;
    for (size_t i = 0; i < len; i++)
        (*bufp)[(*total)++ % KXEN_CONSOLE_RING] = s[i];
}

static size_t ring_get(const char *buf, uint64_t total, uint64_t floor, uint64_t offset, char *out,
                       size_t cap, uint64_t *start, uint64_t *end)
{
    uint64_t oldest = total > KXEN_CONSOLE_RING ? total - KXEN_CONSOLE_RING : 0;
    if (oldest < floor)
        oldest = floor;
    if (offset < oldest)
        offset = oldest;
    if (offset > total)
        offset = total;
    size_t n = 0;
    while (offset + n < total && n < cap) {
        out[n] = buf[(offset + n) % KXEN_CONSOLE_RING];
        n++;
    }
    *start = offset;
    *end = total;
    return n;
}

static void hv_put_locked(const char *s, size_t len)
{
    ring_put(&hv_ring.buf, &hv_ring.total, s, len);
}

void console_hv_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    pthread_mutex_lock(&hv_lock);
    hv_put_locked(buf, KXEN_MIN((size_t)n, sizeof(buf) - 1));
    hv_line_start = true;
    pthread_mutex_unlock(&hv_lock);
}

void console_domain_write(struct domain *d, const char *s, size_t len)
{
    pthread_mutex_lock(&d->console_lock);
    ring_put(&d->console_buf, &d->console_total, s, len);
    d->console_cap = KXEN_CONSOLE_RING;
    d->console_len = KXEN_MIN(d->console_total, (uint64_t)KXEN_CONSOLE_RING);
    pthread_mutex_unlock(&d->console_lock);

    /* The global ring gets "(dN) " at each line start, as Xen prints guest output. */
    char prefix[16];
    int pl = snprintf(prefix, sizeof(prefix), "(d%u) ", d->domid);
    pthread_mutex_lock(&hv_lock);
    for (size_t i = 0; i < len; i++) {
        if (hv_line_start)
            hv_put_locked(prefix, (size_t)pl);
        hv_put_locked(&s[i], 1);
        hv_line_start = s[i] == '\n';
    }
    pthread_mutex_unlock(&hv_lock);
}

size_t console_read(struct domain *d, uint64_t offset, char *out, size_t cap, uint64_t *start,
                    uint64_t *end)
{
    size_t n;
    if (!d) {
        pthread_mutex_lock(&hv_lock);
        n = hv_ring.buf
                ? ring_get(hv_ring.buf, hv_ring.total, hv_ring.floor, offset, out, cap, start, end)
                : (*start = *end = hv_ring.total, 0);
        pthread_mutex_unlock(&hv_lock);
        return n;
    }
    pthread_mutex_lock(&d->console_lock);
    n = d->console_buf ? ring_get(d->console_buf, d->console_total, d->console_floor, offset, out,
                                  cap, start, end)
                       : (*start = *end = d->console_total, 0);
    pthread_mutex_unlock(&d->console_lock);
    return n;
}

/* Offsets keep counting across a clear, so that a reader's offset stays meaningful. */
void console_clear(struct domain *d, uint64_t upto)
{
    pthread_mutex_t *lk = d ? &d->console_lock : &hv_lock;
    pthread_mutex_lock(lk);
    uint64_t *floor = d ? &d->console_floor : &hv_ring.floor;
    uint64_t total = d ? d->console_total : hv_ring.total;
    if (upto > total)
        upto = total;
    if (upto > *floor)
        *floor = upto;
    pthread_mutex_unlock(lk);
}

void console_domain_free(struct domain *d)
{
    free(d->console_buf);
    d->console_buf = NULL;
}

void console_global_free(void)
{
    pthread_mutex_lock(&hv_lock);
    free(hv_ring.buf);
    hv_ring = (struct ring){0};
    pthread_mutex_unlock(&hv_lock);
}

/* CONSOLEIO_write(count, buffer): copied in bounded chunks. CONSOLEIO_read(count, buffer):
 * the global ring, privileged domains only (as Xen). */
static int64_t do_console_io(struct vcpu *v, const uint64_t a[5])
{
    char buf[256];
    uint64_t count = a[1], gva = a[2];

    switch (a[0]) {
    case CONSOLEIO_write:
        /* A buffer larger than the guest's RAM cannot be valid: -EFAULT, as Xen's copy would
         * end up failing. */
        if (count > v->dom->ram_size)
            return -EFAULT;
        for (uint64_t done = 0; done < count;) {
            size_t n = KXEN_MIN((size_t)(count - done), sizeof(buf));
            if (copy_from_guest(v, buf, gva + done, n))
                return -EFAULT;
            console_domain_write(v->dom, buf, n);
            done += n;
        }
        return 0;
    case CONSOLEIO_read: {
        if (!v->dom->privileged)
            return -EPERM;
        uint64_t start, end;
        size_t n = console_read(NULL, 0, buf, KXEN_MIN(count, (uint64_t)sizeof(buf)), &start, &end);
        if (n && copy_to_guest(v, gva, buf, n))
            return -EFAULT;
        return (int64_t)n;
    }
    default:
        return -ENOSYS;
    }
}

static const struct hypercall_family hc_console_io = {__HYPERVISOR_console_io, "console_io",
                                                      do_console_io};
HYPERCALL_REGISTER(hc_console_io);
