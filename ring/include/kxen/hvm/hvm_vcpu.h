/* Initial register state of a secondary vCPU of an HVM/PVH guest: the argument of
 * VCPUOP_initialise for such guests. Xen's layout (checked by ring/tests); kxen's text.
 * Segment attributes (*_ar) use the VMX access-rights layout; a zero base/limit/ar triple is
 * not a valid flat segment, so the hypervisor must validate everything before loading it. */
#ifndef KXEN_HVM_HVM_VCPU_H
#define KXEN_HVM_HVM_VCPU_H

#include <kxen/xen.h>

/* Start in 32-bit protected mode (paging optional). */
struct vcpu_hvm_x86_32 {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t eip;
    uint32_t eflags;
    uint32_t cr0, cr3, cr4;
    uint32_t pad1;
    uint64_t efer; /* only NXE, or LME/LMA for compatibility mode */
    uint32_t cs_base, ds_base, ss_base, es_base, tr_base;
    uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit;
    uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar;
    uint16_t pad2[3];
};
typedef struct vcpu_hvm_x86_32 xen_vcpu_hvm_x86_32_t;

/* Start in 64-bit mode with flat segments. */
struct vcpu_hvm_x86_64 {
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t rip;
    uint64_t rflags;
    uint64_t cr0, cr3, cr4;
    uint64_t efer;
};
typedef struct vcpu_hvm_x86_64 xen_vcpu_hvm_x86_64_t;

struct vcpu_hvm_context {
#define VCPU_HVM_MODE_32B 0
#define VCPU_HVM_MODE_64B 1
    uint32_t mode;
    uint32_t pad;
    union {
        xen_vcpu_hvm_x86_32_t x86_32;
        xen_vcpu_hvm_x86_64_t x86_64;
    } cpu_regs;
};
typedef struct vcpu_hvm_context vcpu_hvm_context_t;
DEFINE_XEN_GUEST_HANDLE(vcpu_hvm_context_t);

#endif
