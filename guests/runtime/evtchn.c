/* Event channels: shared_info mapping, callback vector registration, per-port handlers. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/hvm/params.h>
#include <kxen/memory.h>
#include <kxen/vcpu.h>

#include "guest/evtchn.h"
#include "guest/evtchn_scan.h"
#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/runtime.h"

/* The page of our image that shared_info is placed at (any RAM page of ours will do). */
static uint8_t shared_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

struct shared_info *HYPERVISOR_shared_info;
struct vcpu_info *evtchn_vcpu_info;
volatile uint64_t evtchn_upcall_count;

static struct {
    evtchn_handler_t fn;
    void *data;
} handlers[EVTCHN_2L_NR_CHANNELS];

#define BITS_PER_WORD (sizeof(xen_ulong_t) * 8)

static bool port_valid(evtchn_port_t port)
{
    return port > 0 && port < EVTCHN_2L_NR_CHANNELS;
}

int evtchn_init(void)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = (uintptr_t)shared_info_page >> PAGE_SHIFT,
    };
    long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    if (rc)
        return (int)rc;
    HYPERVISOR_shared_info = (struct shared_info *)shared_info_page;
    evtchn_vcpu_info = &HYPERVISOR_shared_info->vcpu_info[0];
    /* Every port starts masked; evtchn_bind() unmasks the ones we handle. */
    for (unsigned i = 0; i < ARRAY_SIZE(HYPERVISOR_shared_info->evtchn_mask); i++)
        WRITE_ONCE(HYPERVISOR_shared_info->evtchn_mask[i], ~(xen_ulong_t)0);
    WRITE_ONCE(evtchn_vcpu_info->evtchn_upcall_mask, 0);

    struct xen_hvm_param p = {
        .domid = DOMID_SELF,
        .index = HVM_PARAM_CALLBACK_IRQ,
        .value = KXEN_HVM_CALLBACK_VIA(HVM_PARAM_CALLBACK_TYPE_VECTOR, EVTCHN_CALLBACK_VECTOR),
    };
    return (int)HYPERVISOR_hvm_op(HVMOP_set_param, &p);
}

int evtchn_register_vcpu_info(void *page, unsigned offset)
{
    struct vcpu_register_vcpu_info r = {
        .mfn = (uintptr_t)page >> PAGE_SHIFT,
        .offset = offset,
    };
    long rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &r);
    if (rc)
        return (int)rc;
    evtchn_vcpu_info = (struct vcpu_info *)((uint8_t *)page + offset);
    return 0;
}

static void dispatch(evtchn_port_t port, void *ctx)
{
    (void)ctx;
    if (handlers[port].fn)
        handlers[port].fn(port, handlers[port].data);
}

/* Out of line, so that the empty check below pushes no registers: on soft every guest store
 * costs ~0.1 us, and wait loops call evtchn_do_upcall() once more after each event. */
static __attribute__((noinline)) unsigned upcall_scan(struct vcpu_info *vi, struct shared_info *s)
{
    unsigned n = 0;
    do {
        WRITE_ONCE(vi->evtchn_upcall_pending, 0);
        mb();
        n += evtchn_scan_pending_inline(&vi->evtchn_pending_sel, s->evtchn_pending, s->evtchn_mask,
                                        dispatch, 0);
    } while (READ_ONCE(vi->evtchn_upcall_pending));
    return n;
}

unsigned evtchn_do_upcall(void)
{
    struct vcpu_info *vi = evtchn_vcpu_info;
    struct shared_info *s = HYPERVISOR_shared_info;
    /* Nothing new while upcall_pending is clear: the hypervisor sets it whenever it sets a
     * selector bit that was clear, and a scan clears it before taking the selector, so a
     * selector bit never waits unseen behind a clear flag. */
    if (!s || !vi || !READ_ONCE(vi->evtchn_upcall_pending))
        return 0;
    return upcall_scan(vi, s);
}

void evtchn_callback_vector(void)
{
    evtchn_upcall_count++;
    evtchn_do_upcall();
}

int evtchn_bind(evtchn_port_t port, evtchn_handler_t handler, void *data)
{
    if (!port_valid(port) || !handler)
        return -XEN_EINVAL;
    if (handlers[port].fn)
        return -XEN_EBUSY;
    handlers[port].data = data;
    handlers[port].fn = handler;
    int rc = evtchn_unmask(port);
    if (rc)
        handlers[port].fn = 0; /* not ours after all: leave the slot free */
    return rc;
}

void evtchn_unbind(evtchn_port_t port)
{
    if (!port_valid(port))
        return;
    evtchn_mask(port);
    handlers[port].fn = 0;
    handlers[port].data = 0;
}

void evtchn_mask(evtchn_port_t port)
{
    if (port_valid(port))
        __atomic_fetch_or(&HYPERVISOR_shared_info->evtchn_mask[port / BITS_PER_WORD],
                          (xen_ulong_t)1 << (port % BITS_PER_WORD), __ATOMIC_SEQ_CST);
}

int evtchn_unmask(evtchn_port_t port)
{
    struct evtchn_unmask op = {.port = port};
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
}

bool evtchn_is_pending(evtchn_port_t port)
{
    if (!port_valid(port))
        return false;
    return (READ_ONCE(HYPERVISOR_shared_info->evtchn_pending[port / BITS_PER_WORD]) >>
            (port % BITS_PER_WORD)) &
           1;
}

void evtchn_clear_pending(evtchn_port_t port)
{
    if (port_valid(port))
        __atomic_fetch_and(&HYPERVISOR_shared_info->evtchn_pending[port / BITS_PER_WORD],
                           ~((xen_ulong_t)1 << (port % BITS_PER_WORD)), __ATOMIC_SEQ_CST);
}

int evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound op = {.dom = DOMID_SELF, .remote_dom = remote};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    if (!rc)
        *port = op.port;
    return (int)rc;
}

int evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port)
{
    struct evtchn_bind_virq op = {.virq = virq, .vcpu = vcpu};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    if (!rc)
        *port = op.port;
    return (int)rc;
}

int evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port)
{
    struct evtchn_bind_ipi op = {.vcpu = vcpu};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);
    if (!rc)
        *port = op.port;
    return (int)rc;
}

int evtchn_bind_vcpu(evtchn_port_t port, uint32_t vcpu)
{
    struct evtchn_bind_vcpu op = {.port = port, .vcpu = vcpu};
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, &op);
}

int evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = {.port = port};
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

int evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = {.port = port};
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
    if (!rc && port_valid(port)) {
        handlers[port].fn = 0;
        handlers[port].data = 0;
    }
    return (int)rc;
}

int evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status *out)
{
    memset(out, 0, sizeof(*out));
    out->dom = dom;
    out->port = port;
    return (int)HYPERVISOR_event_channel_op(EVTCHNOP_status, out);
}
