/* smptest: brings up vCPU 1 (VCPUOP_initialise + VCPUOP_up), which prints and sends an IPI
 * event channel that is bound to vCPU 0; vCPU 0 waits for it, prints, checks that vCPU 1 took
 * itself down, and powers off. Also checks Xen's error codes for the vCPU ops. Needs a domain
 * with at least 2 vCPUs. */
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/hvm/hvm_vcpu.h>
#include <kxen/sched.h>
#include <kxen/vcpu.h>

#include "guest/evtchn.h"
#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/smp.h"
#include "guest/tap.h"
#include "guest/time.h"

#define MS 1000000ull

static uint8_t ap_stack[16384] __attribute__((aligned(16)));
static evtchn_port_t ipi_port;
static volatile unsigned ipi_count, ap_cpu_seen = ~0u;

static void on_ipi(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
    ipi_count++;
}

static void ap_main(unsigned cpu)
{
    hv_printf("smptest: hello from vCPU %u\n", cpu);
    ap_cpu_seen = cpu;
    evtchn_send(ipi_port);
}

static bool ipi_arrived(void *ctx)
{
    (void)ctx;
    return ipi_count > 0;
}

static bool cpu1_down(void *ctx)
{
    (void)ctx;
    return HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, 0) == 0;
}

static void test_errors(void)
{
    struct vcpu_hvm_context ctx;
    void *top = ap_stack + sizeof(ap_stack);
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, 0), 0, "vCPU 1 starts down (VCPUOP_is_up)");
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_up, 1, 0), -XEN_EINVAL,
           "VCPUOP_up before VCPUOP_initialise -> EINVAL");
    smp_context(&ctx, 1, ap_main, top);
    ctx.mode = 7;
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL,
           "VCPUOP_initialise with an unknown mode -> EINVAL");
    smp_context(&ctx, 1, ap_main, top);
    ctx.cpu_regs.x86_64.cr0 &= ~0x80000000ul;
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL,
           "VCPUOP_initialise in 64-bit mode without paging -> EINVAL");
    smp_context(&ctx, 1, ap_main, top);
    ctx.cpu_regs.x86_64.rip = 0x8000000000000000ul;
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EINVAL,
           "VCPUOP_initialise with a non-canonical rip -> EINVAL");
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, (void *)0x7fff00000000ul), -XEN_EFAULT,
           "VCPUOP_initialise with a context outside RAM -> EFAULT");
    smp_context(&ctx, 0, ap_main, top);
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 0, &ctx), -XEN_EEXIST,
           "VCPUOP_initialise of the running vCPU 0 -> EEXIST");
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 40, &ctx), -XEN_ENOENT,
           "VCPUOP_initialise of a vCPU the domain does not have -> ENOENT");
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, 0), 0, "refused contexts leave vCPU 1 down");
}

int main(void)
{
    hv_printf("smptest: vCPU 0 up, entered through %s\n", boot_info.accel_path);
    test_errors();

    /* An IPI port notifies the vCPU it was bound for; any vCPU may send on it. As on Xen it
     * cannot be moved; an unbound port can. */
    long rc = evtchn_bind_ipi(0, &ipi_port);
    tap_rc(rc, 0, "EVTCHNOP_bind_ipi for vCPU 0");
    tap_rc(evtchn_bind_vcpu(ipi_port, 1), -XEN_EINVAL,
           "EVTCHNOP_bind_vcpu of an IPI port -> EINVAL");
    evtchn_port_t unbound;
    rc = evtchn_alloc_unbound(DOMID_SELF, &unbound);
    tap_check(rc == 0 && evtchn_bind_vcpu(unbound, 1) == 0 && evtchn_bind_vcpu(unbound, 0) == 0,
              "EVTCHNOP_bind_vcpu moves an unbound port to vCPU 1 and back (rc %ld)", rc);
    tap_rc(evtchn_bind_vcpu(unbound, 40), -XEN_ENOENT,
           "EVTCHNOP_bind_vcpu to a vCPU the domain does not have -> ENOENT");
    evtchn_close(unbound);
    evtchn_bind(ipi_port, on_ipi, 0);

    rc = smp_start(1, ap_main, ap_stack + sizeof(ap_stack));
    tap_rc(rc, 0, "VCPUOP_initialise (64-bit context) and VCPUOP_up start vCPU 1");
    int w = wait_until(ipi_arrived, 0, monotonic_ns() + 5000 * MS);
    tap_check(w == 0 && ap_cpu_seen == 1,
              "vCPU 1 ran with its id in rsi and its IPI reached vCPU 0's handler (wait %d, "
              "cpu %u, %u events)",
              w, ap_cpu_seen, ipi_count);
    hv_printf("smptest: vCPU 0 got the IPI from vCPU 1\n");
    struct vcpu_hvm_context ctx;
    smp_context(&ctx, 1, ap_main, ap_stack + sizeof(ap_stack));
    tap_rc(HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EEXIST,
           "VCPUOP_initialise of an initialised vCPU -> EEXIST");
    w = wait_until(cpu1_down, 0, monotonic_ns() + 5000 * MS);
    tap_check(w == 0, "vCPU 1 took itself down with VCPUOP_down (VCPUOP_is_up says 0)");
    tap_finish();
    guest_shutdown(SHUTDOWN_poweroff);
}
