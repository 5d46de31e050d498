/* hvmtest's interrupt handlers for the 16 PIC vectors (0x20-0x2f after the remap in irq.c):
 * each counts its IRQ in irq_count[] and sends the end of interrupt, nothing else. */
    .macro IRQ_STUB n
    .globl irq_stub_\n
irq_stub_\n:
    pushq %rax
    lock incl irq_count + 4 * \n
    movb $0x20, %al
    .if \n >= 8
    outb %al, $0xa0
    .endif
    outb %al, $0x20
    popq %rax
    iretq
    .endm

    .text
    .code64
    IRQ_STUB 0
    IRQ_STUB 1
    IRQ_STUB 2
    IRQ_STUB 3
    IRQ_STUB 4
    IRQ_STUB 5
    IRQ_STUB 6
    IRQ_STUB 7
    IRQ_STUB 8
    IRQ_STUB 9
    IRQ_STUB 10
    IRQ_STUB 11
    IRQ_STUB 12
    IRQ_STUB 13
    IRQ_STUB 14
    IRQ_STUB 15

    .section .rodata
    .balign 8
    .globl irq_stubs
irq_stubs:
    .quad irq_stub_0, irq_stub_1, irq_stub_2, irq_stub_3, irq_stub_4, irq_stub_5
    .quad irq_stub_6, irq_stub_7, irq_stub_8, irq_stub_9, irq_stub_10, irq_stub_11
    .quad irq_stub_12, irq_stub_13, irq_stub_14, irq_stub_15

    .bss
    .balign 4
    .globl irq_count
irq_count:
    .space 4 * 16
    .section .note.GNU-stack, "", @progbits
