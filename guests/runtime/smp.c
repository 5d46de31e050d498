/* Secondary vCPUs (guest/smp.h). The context is Xen's 64-bit HVM one: paging on with the boot
 * page tables (the PVH path built them; the soft accelerator ignores page tables), long mode,
 * entry at smp_ap_entry (boot.S), which loads the GDT and segments and calls smp_ap_main. */
#include <stdint.h>

#include <kxen/hvm/hvm_vcpu.h>
#include <kxen/vcpu.h>

#include "guest/hypercall.h"
#include "guest/lib.h"
#include "guest/runtime.h"
#include "guest/smp.h"

extern char smp_ap_entry[];
extern char boot_pml4[];

void smp_ap_main(smp_fn_t fn, unsigned cpu);

void smp_ap_main(smp_fn_t fn, unsigned cpu)
{
    traps_load();
    fn(cpu);
    HYPERVISOR_vcpu_op(VCPUOP_down, cpu, 0);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void smp_context(struct vcpu_hvm_context *ctx, unsigned cpu, smp_fn_t fn, void *stack_top)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->mode = VCPU_HVM_MODE_64B;
    struct vcpu_hvm_x86_64 *r = &ctx->cpu_regs.x86_64;
    r->rip = (uint64_t)(uintptr_t)smp_ap_entry;
    r->rsp = (uint64_t)(uintptr_t)stack_top;
    r->rdi = (uint64_t)(uintptr_t)fn;
    r->rsi = cpu;
    r->rflags = 0x2;     /* interrupts off */
    r->cr0 = 0x80000011; /* PG | ET | PE */
    r->cr3 = (uint64_t)(uintptr_t)boot_pml4;
    r->cr4 = 0x20;   /* PAE */
    r->efer = 0x500; /* LME | LMA */
}

long smp_start(unsigned cpu, smp_fn_t fn, void *stack_top)
{
    struct vcpu_hvm_context ctx;
    smp_context(&ctx, cpu, fn, stack_top);
    long rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, cpu, &ctx);
    if (rc == 0)
        rc = HYPERVISOR_vcpu_op(VCPUOP_up, cpu, 0);
    return rc;
}
