/* usermode: a hypercall made from guest user space (CPL 3) must be refused with -EPERM, as on
 * Xen, while the same call from the kernel (CPL 0) succeeds. Only guest kernels may call the
 * hypervisor; a guest's applications must not reach it even when the kernel lets them do port
 * I/O (here through the TSS I/O bitmap), which is exactly how kxend's kvm hypercall page traps
 * (`out` to a port).
 *
 * How: user-accessible page tables (the U bit on the runtime's identity map), user code and
 * data segments and a TSS in a GDT of our own, an iretq to CPL 3 with interrupts off, and an
 * IDT of our own while the user code runs: the user code ends with ud2, whose #UD brings the
 * CPU back to CPL 0 on the TSS stack (any other fault at CPL 3 comes back too, with its vector
 * recorded, instead of a triple fault). The PVH entry (kvm) has the page tables this needs; on
 * the PV entry (soft: Unicorn ignores privilege and page tables) the user-mode checks are
 * skipped. TAP lines, then RESULT PASS/FAIL. */
#include <stddef.h>
#include <stdint.h>

#include <kxen/errno.h>
#include <kxen/version.h>

#include "guest/hypercall.h"
#include "guest/printf.h"
#include "guest/runtime.h"
#include "guest/tap.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x18
#define SEL_UCODE 0x20
#define SEL_TSS 0x28
#define VEC_UD 6 /* the user code ends with ud2: its #UD brings the CPU back to CPL 0 */

#define PTE_USER 0x4u
#define NR_PD_PAGES 4 /* as built by boot.S: 4 GiB of 2 MiB pages */

extern uint64_t boot_pml4[512];

/* The runtime's kernel segments at the same selectors, ring-3 code and data, and a TSS (its
 * rsp0 is the stack the CPU switches to when the user code traps back to CPL 0; its I/O
 * bitmap lets CPL 3 use ports, as ioperm() lets a Linux process). Writable: ltr marks the TSS
 * descriptor busy. */
static uint64_t gdt[7] __attribute__((aligned(16))) = {
    0,
    0x00af9a000000ffffull, /* 0x08: 64-bit code, DPL 0 */
    0x00cf92000000ffffull, /* 0x10: data, DPL 0 */
    0x00cff2000000ffffull, /* 0x18: data, DPL 3 */
    0x00affa000000ffffull, /* 0x20: 64-bit code, DPL 3 */
    0,                     /* 0x28: 64-bit TSS (two slots), filled at run time */
    0,
};

static struct {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    uint8_t iomap[32 + 1]; /* ports 0-255: 0 = allowed at any CPL; then the 0xff terminator */
} __attribute__((packed)) tss;

struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, type; /* type: P | DPL | 0xe (64-bit interrupt gate) */
    uint16_t off1;
    uint32_t off2, reserved;
};
static struct idt_gate idt[256] __attribute__((aligned(16)));

struct table_reg {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* Filled by the user code and the trap stubs, read by the kernel once it is back. */
volatile long usermode_rc = 1;
volatile unsigned long usermode_vector; /* how the user code came back */
uint64_t usermode_kernel_rsp;
const uint64_t *usermode_frame; /* the #UD frame: rip, cs, rflags, rsp, ss */
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint8_t trap_stack[4096] __attribute__((aligned(16)));

void usermode_run(void (*fn)(void), void *stack_top);
void usermode_code(void);
void usermode_trap_ud(void), usermode_trap_df(void), usermode_trap_gp(void), usermode_trap_pf(void);
extern const char usermode_ud2[];

/* usermode_run(fn, stack): iretq to fn at CPL 3 with interrupts off. It returns when the user
 * code traps back to CPL 0 through our IDT; the vector and the frame are recorded.
 * usermode_code: calls xen_version(XENVER_version) through the hypercall page,
 * stores the result and executes ud2 (usermode_ud2) to come back. */
__asm__(".pushsection .text\n"
        ".globl usermode_run\n"
        "usermode_run:\n"
        "    push %rbx\n"
        "    push %rbp\n"
        "    push %r12\n"
        "    push %r13\n"
        "    push %r14\n"
        "    push %r15\n"
        "    mov %rsp, usermode_kernel_rsp(%rip)\n"
        "    pushq $0x1b\n" /* SS: user data, RPL 3 */
        "    pushq %rsi\n"  /* RSP */
        "    pushq $0x2\n"  /* RFLAGS: interrupts off */
        "    pushq $0x23\n" /* CS: user code, RPL 3 */
        "    pushq %rdi\n"  /* RIP */
        "    iretq\n"
        ".macro USERMODE_TRAP name, vec\n"
        ".globl usermode_trap_\\name\n"
        "usermode_trap_\\name:\n"
        "    movq $\\vec, usermode_vector(%rip)\n"
        "    mov %rsp, usermode_frame(%rip)\n"
        "    jmp usermode_back\n"
        ".endm\n"
        "USERMODE_TRAP ud, 6\n"
        "USERMODE_TRAP df, 8\n"
        "USERMODE_TRAP gp, 13\n"
        "USERMODE_TRAP pf, 14\n"
        "usermode_back:\n" /* CPL 0 on the TSS stack: drop the frame, resume the caller */
        "    mov usermode_kernel_rsp(%rip), %rsp\n"
        "    mov $0x10, %eax\n"
        "    mov %eax, %ds\n"
        "    mov %eax, %es\n"
        "    pop %r15\n"
        "    pop %r14\n"
        "    pop %r13\n"
        "    pop %r12\n"
        "    pop %rbp\n"
        "    pop %rbx\n"
        "    ret\n"
        ".globl usermode_code\n"
        "usermode_code:\n"
        "    xor %edi, %edi\n" /* XENVER_version */
        "    xor %esi, %esi\n"
        "    mov $17, %eax\n" /* __HYPERVISOR_xen_version */
        "    call hypercall_page + 17 * 32\n"
        "    mov %rax, usermode_rc(%rip)\n"
        ".globl usermode_ud2\n"
        "usermode_ud2:\n"
        "    ud2\n"
        ".popsection\n");

static void set_gate(unsigned vec, void (*fn)(void))
{
    uint64_t a = (uint64_t)(uintptr_t)fn;
    idt[vec] = (struct idt_gate){.off0 = (uint16_t)a,
                                 .sel = SEL_KCODE,
                                 .type = 0x8e, /* present, DPL 0, interrupt gate */
                                 .off1 = (uint16_t)(a >> 16),
                                 .off2 = (uint32_t)(a >> 32)};
}

/* Sets the U bit on every level of the boot identity map, so CPL 3 may run the image. */
static void map_user(void)
{
    boot_pml4[0] |= PTE_USER;
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(boot_pml4[0] & ~0xfffull);
    for (unsigned i = 0; i < NR_PD_PAGES; i++) {
        pdpt[i] |= PTE_USER;
        uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[i] & ~0xfffull);
        for (unsigned j = 0; j < 512; j++)
            pd[j] |= PTE_USER;
    }
    unsigned long cr3;
    __asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3)::"memory");
}

/* Our GDT (same kernel selectors) with a TSS, and user page tables. Called with interrupts
 * off; the runtime's IDT is swapped for ours only around the user-mode run. */
static void setup_user_mode(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    tss.rsp[0] = (uint64_t)(uintptr_t)(trap_stack + sizeof(trap_stack));
    tss.iomap_base = offsetof(__typeof__(tss), iomap);
    tss.iomap[32] = 0xff;
    gdt[5] =
        (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
    gdt[6] = base >> 32;
    struct table_reg gdtr = {sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt};
    __asm__ volatile("lgdt %0\n\tltr %w1" ::"m"(gdtr), "r"(SEL_TSS) : "memory");
    map_user();
    set_gate(6, usermode_trap_ud);
    set_gate(8, usermode_trap_df);
    set_gate(13, usermode_trap_gp);
    set_gate(14, usermode_trap_pf);
}

/* Runs usermode_code at CPL 3 under our IDT; the runtime's IDT is back on return. */
static void run_user_code(void)
{
    unsigned long flags = local_save_flags();
    local_irq_disable();
    struct table_reg saved, ours = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("sidt %0\n\tlidt %1" : "=m"(saved) : "m"(ours) : "memory");
    usermode_run(usermode_code, user_stack + sizeof(user_stack));
    __asm__ volatile("lidt %0" ::"m"(saved) : "memory");
    if (flags & (1ul << 9))
        local_irq_enable();
}

int main(void)
{
    long v = HYPERVISOR_xen_version(XENVER_version, 0);
    tap_check(v > 0, "xen_version from the kernel (CPL 0) succeeds (0x%lx)", (unsigned long)v);

    if (boot_info.kind != BOOT_KIND_PVH) {
        tap_skip("the PV entry (soft) has no page tables or privilege levels",
                 "a hypercall from user space (CPL 3) is refused with -EPERM");
        return tap_finish();
    }
    local_irq_disable();
    setup_user_mode();
    local_irq_enable();
    run_user_code();

    tap_check(usermode_vector == VEC_UD && usermode_frame[0] == (uintptr_t)usermode_ud2,
              "the user code ran to its end and came back through #UD (vector %lu at 0x%lx)",
              usermode_vector, (unsigned long)usermode_frame[0]);
    tap_rc((long)(usermode_frame[1] & 3), 3, "the user code ran at CPL 3 (cs 0x%lx)",
           (unsigned long)usermode_frame[1]);
    tap_rc(usermode_rc, -XEN_EPERM, "a hypercall from user space (CPL 3) is refused with -EPERM");
    v = HYPERVISOR_xen_version(XENVER_version, 0);
    tap_check(v > 0, "back at CPL 0, hypercalls work again (0x%lx)", (unsigned long)v);
    return tap_finish();
}
