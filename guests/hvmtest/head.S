/* hvmtest's entries, one per way kxend starts a firmware-less HVM guest:
 *   - as a Linux bzImage (the header below, boot protocol 2.10: kxend loads what follows the
 *     first 1024 bytes at 1 MiB and enters it at 1 MiB in 32-bit protected mode, flat);
 *   - as an ELF on kvm, through XEN_ELFNOTE_PHYS32_ENTRY (the same 32-bit entry);
 *   - as an ELF on soft, at e_entry in 64-bit mode, identity-mapped (hvmtest_start64).
 * The 32-bit entry switches to 64-bit mode on its own identity map of the first 4 GiB
 * (2 MiB pages); both end in hvmtest_main(). */
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

    .section .setup, "a"
    .org 0x1f1
    .byte 1                  /* setup_sects: the header sector and one more */
    .org 0x1fe
    .word 0xaa55             /* boot_flag */
    .byte 0xeb, 0x62         /* jump: the header ends at 0x264 */
    .ascii "HdrS"
    .word 0x020a             /* version 2.10 */
    .org 0x211
    .byte 0x01               /* loadflags: LOADED_HIGH */
    .org 0x214
    .long 0x100000           /* code32_start */
    .org 0x22c
    .long 0x7fffffff         /* initrd_addr_max */
    .org 0x238
    .long 255                /* cmdline_size */
    .org 0x260
    .long 0x100000           /* init_size: code, data, page tables and stack fit in 1 MiB */
    .org 0x400

    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 4, 18           /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long _start

    /* At exactly 1 MiB (the bzImage's code32_start): its own section, placed by the link. */
    .section .head, "ax"
    .code32
    .globl _start
_start:
    cli
    movl $stack_top, %esp
    /* pd[i] maps 2 MiB at i * 2 MiB (present, writable, large), four pds for 4 GiB. */
    movl $pd, %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 1b
    movl $pd + 3, %eax
    movl %eax, pdpt
    addl $4096, %eax
    movl %eax, pdpt + 8
    addl $4096, %eax
    movl %eax, pdpt + 16
    addl $4096, %eax
    movl %eax, pdpt + 24
    movl $pdpt + 3, %eax
    movl %eax, pml4
    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    lgdt gdt_desc
    ljmp $0x08, $start64

    .code64
start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq $stack_top, %rsp
    movl %esi, %edi          /* the zero page, for main */
    call hvmtest_main
2:  hlt
    jmp 2b

    .globl hvmtest_start64
hvmtest_start64:             /* soft: already 64-bit and identity-mapped */
    movq $stack_top, %rsp
    xorl %edi, %edi
    call hvmtest_main
3:  hlt
    jmp 3b

    .section .rodata
    .balign 8
gdt:
    .quad 0
    .quad 0x00209a0000000000 /* 0x08: 64-bit code */
    .quad 0x0000920000000000 /* 0x10: data */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .bss
    .balign 4096
pml4: .space 4096
pdpt: .space 4096
pd:   .space 4 * 4096
    .space 16384
stack_top:
    .section .note.GNU-stack, "", @progbits
