/* Tiny guest for kvm_accel_test: loaded at guest-physical GUEST_BASE, entered in 32-bit
 * protected mode (the PVH state kxend gives). Talks to the test through ports:
 *   0x10 report a 32-bit value   0x11 timing marker   0x12 "check me now" (translate, regs)
 *   0x13 upcall handler ran      0x14 bare trapped write (benchmark reference)
 *   0x15 spinning, ready for upcalls (guest_entry_xen)
 * Addresses are written as offsets from guest_start so the blob runs at GUEST_BASE. */
#define GUEST_BASE 0x10000
#define G(sym) ((sym) - guest_start + GUEST_BASE)
#define HCALL_PAGE 0x2000
#define PML4 0x3000
#define PDPT 0x4000
#define PD 0x5000
#define STACK 0x9000
#define BENCH_N 1000
/* guest_entry_xen: the shared_info page the test tells KVM about, its vCPU 0 vcpu_info at
 * offset 0 (upcall_pending at +0, pending_sel at +8), evtchn_pending at +2048; the LAPIC's
 * spurious-vector and EOI registers; how many upcalls the test sends. */
#define XEN_SHINFO 0x6000
#define LAPIC_SVR 0xfee000f0
#define LAPIC_EOI 0xfee000b0
#define XEN_UPCALLS 200

    .section .rodata
    .globl guest_start, guest_end, guest_entry_main, guest_entry_fault, guest_entry_spin
    .globl guest_entry_real16, guest_entry_fetch_outside, guest_entry_xen
    .globl guest_xen_hcall_1, guest_xen_hcall_2, guest_xen_hcall_3
guest_start:
    .code32
guest_entry_main:
    mov %ebx, %eax
    out %eax, $0x10                 /* 1: start info pointer from %ebx */
    mov %cr0, %eax
    out %eax, $0x10                 /* 2: cr0 */
    mov $0x40000000, %eax
    xor %ecx, %ecx
    cpuid
    mov %ebx, %eax
    out %eax, $0x10                 /* 3-5: hypervisor signature */
    mov %ecx, %eax
    out %eax, $0x10
    mov %edx, %eax
    out %eax, $0x10
    mov $0x40000002, %eax
    cpuid
    mov %ebx, %ecx                  /* the hypercall MSR named by leaf base+2 */
    mov $HCALL_PAGE, %eax
    xor %edx, %edx
    wrmsr
    mov $STACK, %esp
    mov $0x11, %ebx                 /* 32-bit convention: ebx ecx edx esi edi */
    mov $0x22, %ecx
    mov $0x33, %edx
    mov $0x44, %esi
    mov $0x55, %edi
    mov $(HCALL_PAGE + 17 * 32), %eax
    call *%eax
    out %eax, $0x10                 /* 6: result of a 32-bit hypercall */

    /* identity map the first GiB with 2 MiB pages, plus an alias of it at 1 GiB */
    movl $(PDPT | 3), PML4
    movl $(PD | 3), PDPT
    movl $(PD | 3), PDPT + 8
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, PD(, %ecx, 8)
    movl $0, PD + 4(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jne 1b
    mov $PML4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov $0xc0000080, %ecx
    rdmsr
    or $0x100, %eax                 /* EFER.LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax            /* PG */
    mov %eax, %cr0
    lgdt G(gdt_desc)
    ljmp $0x08, $G(long_mode)

    .code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $STACK, %rsp
    movabs $0x1111111111111111, %rdi
    movabs $0x2222222222222222, %rsi
    movabs $0x3333333333333333, %rdx
    movabs $0x4444444444444444, %r10
    movabs $0x5555555555555555, %r8
    mov $(HCALL_PAGE + 34 * 32), %eax
    call *%rax
    out %eax, $0x10                 /* 7-8: 64-bit result, low then high half */
    shr $32, %rax
    out %eax, $0x10
    mov $0x10000000, %rbx           /* outside RAM: MMIO */
    movl $0xdeadbeef, (%rbx)
    mov (%rbx), %rax
    out %eax, $0x10                 /* 9: value the MMIO read returned */
    movl $0x600d, 0x100000          /* dirties page 0x100 */
    out %al, $0x12                  /* host checks translate and registers here */

    /* upcall: IDT entry for vector 0xf3, then ask for the upcall and wait for it halted */
    mov $G(upcall_handler), %eax
    mov $(G(idt) + 0xf3 * 16), %rbx
    mov %ax, (%rbx)
    movw $0x08, 2(%rbx)
    movw $0x8e00, 4(%rbx)
    shr $16, %eax
    mov %ax, 6(%rbx)
    movl $0, 8(%rbx)
    movl $0, 12(%rbx)
    /* #GP handler (vector 13): reports, skips the 2-byte wrmsr */
    mov $G(gp_handler), %eax
    mov $(G(idt) + 13 * 16), %rbx
    mov %ax, (%rbx)
    movw $0x08, 2(%rbx)
    movw $0x8e00, 4(%rbx)
    shr $16, %eax
    mov %ax, 6(%rbx)
    movl $0, 8(%rbx)
    movl $0, 12(%rbx)
    lidt G(idt_desc)
    /* bad hypercall-MSR writes must raise #GP: page index 1, then a page outside RAM */
    mov $0x40000000, %ecx
    mov $(HCALL_PAGE | 1), %eax
    xor %edx, %edx
    wrmsr
    mov $0x7fff0000, %eax
    wrmsr
    mov $HCALL_PAGE, %eax           /* the good value again: no #GP */
    wrmsr
    mov G(gp_count), %eax
    out %eax, $0x10                 /* 10: number of #GPs seen (2) */

    mov $(HCALL_PAGE + 50 * 32), %eax /* test hypercall 50: raise an upcall */
    call *%rax
2:  sti
    hlt
    cli
    cmpl $1, G(upcall_seen)
    jne 2b

    /* timer: test hypercall 52 arms a deadline 20 ms ahead; spin with interrupts on and no
     * exits until its upcall arrives (only the accelerator's deadline timer can end this) */
    mov $(HCALL_PAGE + 52 * 32), %eax
    call *%rax
    sti
6:  cmpl $2, G(upcall_seen)
    jne 6b
    cli

    /* benchmark: hypercall round trips, then bare trapped port writes */
    out %al, $0x11
    mov $BENCH_N, %ecx
3:  push %rcx
    mov $(HCALL_PAGE + 17 * 32), %eax
    call *%rax
    pop %rcx
    dec %ecx
    jnz 3b
    out %al, $0x11
    mov $BENCH_N, %ecx
4:  out %al, $0x14
    dec %ecx
    jnz 4b
    out %al, $0x11

    mov $2, %edi                    /* SCHEDOP_shutdown(poweroff) in the test's dispatcher */
    mov $(HCALL_PAGE + 29 * 32), %eax
    call *%rax
5:  hlt
    jmp 5b

gp_handler:
    incl G(gp_count)
    addq $2, 8(%rsp)                /* past the error code: saved rip += len(wrmsr) */
    add $8, %rsp                    /* drop the error code */
    iretq

upcall_handler:
    push %rax
    mov $(HCALL_PAGE + 51 * 32), %eax /* test hypercall 51: upcall consumed */
    call *%rax
    out %al, $0x13
    incl G(upcall_seen)
    pop %rax
    iretq

    .code32
guest_entry_fault:                  /* triple fault: no usable IDT, then an exception */
    lidt G(idt_null)
    int3
    hlt

guest_entry_fetch_outside:          /* code outside RAM: KVM cannot fetch it (internal error) */
    mov $0xe0000000, %eax
    jmp *%eax

guest_entry_spin:                   /* never exits on its own: for kick and stop */
    jmp guest_entry_spin

/* KVM's Xen intercept (a domain the test configured like a Linux one): vmmcall straight
 * from the guest (the test rewrites the three bytes to vmcall on Intel hosts), no hypercall
 * page; then upcalls on vector 0xf3 through the in-kernel LAPIC while spinning. */
guest_entry_xen:
    lgdt G(gdt32_desc)
    ljmp $0x08, $G(1f)
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $STACK, %esp
    mov $0x11, %ebx                 /* 32-bit convention: ebx ecx edx esi edi */
    mov $0x22, %ecx
    mov $0x33, %edx
    mov $0x44, %esi
    mov $0x55, %edi
    mov $17, %eax
guest_xen_hcall_1:
    vmmcall
    out %eax, $0x10                 /* 1: result of the intercepted hypercall */
    mov $0x40000000, %ecx           /* the hypercall MSR still reaches kxend's filter */
    mov $HCALL_PAGE, %eax
    xor %edx, %edx
    wrmsr
    mov $(HCALL_PAGE + 17 * 32), %eax
    call *%eax
    out %eax, $0x10                 /* 2: result through the hypercall page */
    movl $0x1ff, LAPIC_SVR          /* LAPIC software-enabled */
    mov $G(xen_upcall_handler), %eax
    mov $(G(idt) + 0xf3 * 8), %ebx  /* 32-bit interrupt gate */
    mov %ax, (%ebx)
    movw $0x08, 2(%ebx)
    movw $0x8e00, 4(%ebx)
    shr $16, %eax
    mov %ax, 6(%ebx)
    lidt G(idt32_desc)
    /* benchmark: intercepted hypercalls, then the same through the port trap */
    out %al, $0x11
    mov $BENCH_N, %ecx
2:  mov $17, %eax
guest_xen_hcall_2:
    vmmcall
    dec %ecx
    jnz 2b
    out %al, $0x11
    mov $BENCH_N, %ecx
3:  mov $17, %eax
    out %eax, $0xe8
    dec %ecx
    jnz 3b
    out %al, $0x11
    /* upcalls: the test sends XEN_UPCALLS through KVM and as many through kxend's path */
    out %al, $0x15
    sti
4:  cmpl $(2 * XEN_UPCALLS), G(xen_upcalls)
    jne 4b
    cli
    mov $2, %ebx                    /* SCHEDOP_shutdown(poweroff) in the test's dispatcher */
    mov $29, %eax
guest_xen_hcall_3:
    vmmcall
5:  hlt
    jmp 5b

/* Consumes port 1 as a Linux guest would (pending bit, selector, upcall flag), EOIs. */
xen_upcall_handler:
    movb $0, XEN_SHINFO
    movl $0, XEN_SHINFO + 8
    movl $0, XEN_SHINFO + 2048
    movl $0, LAPIC_EOI
    incl G(xen_upcalls)
    out %al, $0x13
    iret

    .code16
guest_entry_real16:                 /* HVM reset-style boot: real mode, cs:ip at the entry */
    mov %cs, %ax
    out %ax, $0x10                  /* 1: code segment */
    mov %cr0, %eax
    out %eax, $0x10                 /* 2: cr0 (PE clear) */
7:  hlt
    jmp 7b
    .code32

    .p2align 3
gdt:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
gdt_desc:
    .word 23
    .long G(gdt)
idt_desc:
    .word 256 * 16 - 1
    .quad G(idt)
gdt32:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: data */
gdt32_desc:
    .word 23
    .long G(gdt32)
idt32_desc:
    .word 256 * 8 - 1
    .long G(idt)
xen_upcalls:
    .long 0
idt_null:
    .word 0
    .quad 0
upcall_seen:
    .long 0
gp_count:
    .long 0
    .p2align 4
idt:
    .fill 256 * 16, 1, 0
guest_end:
    .section .note.GNU-stack, "", @progbits
