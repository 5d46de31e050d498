/* IDT entry stubs: one 16-byte stub per vector. Each pushes a zero error code when the CPU
 * does not push one (so every frame has the same shape), then the vector number, saves the
 * general registers and calls trap_dispatch(struct trap_frame *). Return is iretq, which is
 * how both accelerators expect an event-channel upcall (callback vector) to end. */
    .text
    .p2align 4
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .p2align 4
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    /* The frame is 22 words on a 16-byte aligned interrupt stack, so rsp is aligned here;
     * realign anyway in case a caller pushed an odd frame. */
    movq %rsp, %rbx
    andq $-16, %rsp
    call trap_dispatch
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp /* vector, error code */
    iretq
