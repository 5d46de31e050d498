/* Secondary vCPUs: VCPUOP_initialise with a flat 64-bit HVM context, then VCPUOP_up. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

typedef void (*smp_fn_t)(unsigned cpu);

/* Starts vCPU cpu running fn(cpu) on the stack whose top is stack_top (16-byte aligned, owned
 * by the caller). The vCPU runs with interrupts off (it takes no upcalls); when fn returns it
 * takes itself down (VCPUOP_down). Returns 0 or the hypercall's negative Xen errno. */
long smp_start(unsigned cpu, smp_fn_t fn, void *stack_top);

/* Fills ctx with the flat 64-bit context smp_start uses (for tests that alter it). */
struct vcpu_hvm_context;
void smp_context(struct vcpu_hvm_context *ctx, unsigned cpu, smp_fn_t fn, void *stack_top);

#endif
