/* Console output: the hypervisor console (console_io) and the PV console ring. */
#include <stdarg.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/io/console.h>
#include <kxen/xen.h>

#include "guest/console.h"
#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/printf.h"
#include "guest/time.h"

static struct xencons_interface *cons_ring;
static evtchn_port_t cons_port;

long xen_console_write(const char *buf, size_t len)
{
    return HYPERVISOR_console_io(CONSOLEIO_write, len, buf);
}

static void cons_event(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data; /* input is not read; the event only wakes writers waiting for room */
}

int pvcons_init(void *ring, uint32_t port)
{
    if (!ring || (uintptr_t)ring % PAGE_SIZE)
        return -XEN_EINVAL;
    int rc = evtchn_bind(port, cons_event, 0);
    if (rc)
        return rc;
    cons_port = port;
    cons_ring = ring;
    return 0;
}

bool pvcons_ready(void)
{
    return cons_ring != 0;
}

/* Free bytes in the out ring, or -1 when the indices are impossible (a broken backend: the
 * ring is abandoned rather than trusted). cons is read once. */
static int out_room(void)
{
    XENCONS_RING_IDX cons = READ_ONCE(cons_ring->out_cons);
    XENCONS_RING_IDX prod = cons_ring->out_prod;
    rmb();
    XENCONS_RING_IDX used = prod - cons;
    if (used > sizeof(cons_ring->out))
        return -1;
    return (int)(sizeof(cons_ring->out) - used);
}

static bool has_room(void *ctx)
{
    (void)ctx;
    return out_room() != 0;
}

size_t pvcons_write(const char *buf, size_t len)
{
    size_t done = 0;
    while (cons_ring && done < len) {
        int room = out_room();
        if (room < 0) {
            cons_ring = 0;
            break;
        }
        if (room == 0) {
            if (wait_until(has_room, 0, monotonic_ns() + PVCONS_STALL_NS))
                break;
            continue;
        }
        XENCONS_RING_IDX prod = cons_ring->out_prod;
        while (room-- > 0 && done < len) {
            cons_ring->out[MASK_XENCONS_IDX(prod, cons_ring->out)] = buf[done++];
            prod++;
        }
        wmb(); /* data before the index */
        WRITE_ONCE(cons_ring->out_prod, prod);
        evtchn_send(cons_port);
    }
    return done;
}

#define PRINT_BUF 512

static int vprint(bool hypervisor, const char *fmt, va_list ap)
{
    char buf[PRINT_BUF];
    int n = guest_vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    if (hypervisor || !pvcons_ready())
        xen_console_write(buf, len);
    if (pvcons_ready())
        pvcons_write(buf, len);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprint(false, fmt, ap);
    va_end(ap);
    return n;
}

int hv_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprint(true, fmt, ap);
    va_end(ap);
    return n;
}
