/* Guest entry points, ELF notes, GDT, identity page tables, stack and the hypercall page.
 *
 * One image boots two ways (docs/architecture.md section 4, docs/soft-accel.md):
 *   _start64  XEN_ELFNOTE_ENTRY: 64-bit long mode, %rsi = struct start_info (soft accelerator;
 *             Unicorn ignores page tables, so none are built on this path).
 *   _start32  XEN_ELFNOTE_PHYS32_ENTRY: 32-bit protected mode, paging off, %ebx = struct
 *             hvm_start_info (PVH, kvm accelerator). Builds 2 MiB identity pages for the first
 *             4 GiB and switches to long mode.
 * Both load our own GDT (Unicorn's default CS is 0) and a stack, then call
 * guest_start(kind, info) in C with interrupts still off. */
#include <kxen/elfnote.h>
#include "guest/boot_kind.h"

#define CS64 0x08
#define DS64 0x10
#define STACK_SIZE (64 * 1024)
#define NR_PD_PAGES 4 /* 4 x 512 x 2 MiB = 4 GiB */

/* One Xen note: namesz, descsz, type, "Xen\0", then the descriptor between the two halves. */
.macro XEN_NOTE_BEGIN type
    .pushsection .note.Xen, "a", @note
    .p2align 2
    .long 2f - 1f
    .long 4f - 3f
    .long \type
1:  .asciz "Xen"
2:  .p2align 2
3:
.endm
.macro XEN_NOTE_END
4:  .p2align 2
    .popsection
.endm

.macro XEN_NOTE type, kind, value
    XEN_NOTE_BEGIN \type
    \kind \value
    XEN_NOTE_END
.endm

/* Same with a string descriptor (the macro above would drop the quotes of a plain argument). */
.macro XEN_NOTE_STR type, str
    XEN_NOTE_BEGIN \type
    .asciz "\str"
    XEN_NOTE_END
.endm

    XEN_NOTE_STR XEN_ELFNOTE_GUEST_OS, kxen-guest
    XEN_NOTE_STR XEN_ELFNOTE_GUEST_VERSION, 1
    XEN_NOTE_STR XEN_ELFNOTE_XEN_VERSION, xen-3.0
    XEN_NOTE_STR XEN_ELFNOTE_LOADER, generic
    XEN_NOTE XEN_ELFNOTE_VIRT_BASE, .quad, 0
    XEN_NOTE XEN_ELFNOTE_PADDR_OFFSET, .quad, 0
    XEN_NOTE XEN_ELFNOTE_ENTRY, .quad, _start64
    XEN_NOTE XEN_ELFNOTE_HYPERCALL_PAGE, .quad, hypercall_page
    XEN_NOTE XEN_ELFNOTE_PHYS32_ENTRY, .long, _start32

/* ---- PVH: 32-bit protected mode, paging off -------------------------------------------- */
    .section .text.boot, "ax"
    .code32
    .globl _start32
_start32:
    cli
    cld
    movl %ebx, %esi /* hvm_start_info, kept in esi (untouched below) */

    lgdt gdt_desc

    /* Zero the page-table pages: the image's .bss is not trusted to be clean on this path. */
    movl $boot_pml4, %edi
    movl $((2 + NR_PD_PAGES) * 1024), %ecx
    xorl %eax, %eax
    rep stosl

    /* pml4[0] -> pdpt; pdpt[i] -> pd[i]; pd entries map 2 MiB pages, present|rw|PS. */
    movl $boot_pdpt + 0x3, boot_pml4
    movl $boot_pd, %eax
    orl $0x3, %eax
    movl $boot_pdpt, %edi
    movl $NR_PD_PAGES, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b

    movl $boot_pd, %edi
    movl $0x83, %eax /* present | rw | 2 MiB page; high dword stays 0 (below 4 GiB) */
    movl $(NR_PD_PAGES * 512), %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b

    movl %cr4, %eax
    orl $(1 << 5), %eax /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx /* EFER */
    rdmsr
    orl $(1 << 8), %eax /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax /* PG | PE */
    movl %eax, %cr0
    ljmp $CS64, $pvh_long_mode

    .code64
pvh_long_mode:
    movl $BOOT_KIND_PVH, %edi
    movl %esi, %esi /* zero-extend the hvm_start_info address */
    jmp common64

/* ---- PV-style 64-bit entry (soft accelerator) ------------------------------------------- */
    .globl _start64
_start64:
    cli
    cld
    leaq boot_stack_top(%rip), %rsp /* no stack is given on this path */
    lgdt gdt_desc
    /* Reload CS through a far return: the accelerator's CS may not name our GDT. */
    pushq $CS64
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  movl $BOOT_KIND_PV, %edi
    /* %rsi = start_info, passed through as the second argument */

common64:
    movl $DS64, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    leaq boot_stack_top(%rip), %rsp
    xorl %ebp, %ebp
    call guest_start
3:  cli
    hlt
    jmp 3b

/* ---- Secondary vCPUs (smp.c) ----------------------------------------------------------
 * VCPUOP_initialise starts a vCPU here in flat 64-bit mode with rsp = its stack, rdi = the
 * function and rsi = the vCPU id (smp_start). Like _start64 it loads our GDT and CS first. */
    .text
    .globl smp_ap_entry
smp_ap_entry:
    cli
    cld
    lgdt gdt_desc
    pushq $CS64
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
1:  movl $DS64, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    andq $-16, %rsp
    xorl %ebp, %ebp
    call smp_ap_main /* (fn, cpu): does not return */
2:  cli
    hlt
    jmp 2b

/* ---- Descriptor table ------------------------------------------------------------------- */
    .section .rodata
    .p2align 4
gdt:
    .quad 0                  /* null */
    .quad 0x00af9a000000ffff /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff /* 0x10: data, DPL 0 */
gdt_end:
    .p2align 3
    /* 2-byte limit, 8-byte base (the 32-bit lgdt reads only the low 4 bytes of the base). */
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt

/* ---- The hypercall page ------------------------------------------------------------------
 * 128 stubs of 32 bytes, filled by kxend: by the domain builder on the PV entry, after our MSR
 * write on the PVH entry. int3 until then, so an early call traps visibly. */
    .section .hypercall_page, "ax"
    .globl hypercall_page
    .p2align 12
hypercall_page:
    .fill 4096, 1, 0xcc

    .section .bss
    .p2align 12
    .globl boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip NR_PD_PAGES * 4096
    .p2align 4
boot_stack:
    .skip STACK_SIZE
    .globl boot_stack_top
boot_stack_top:
