/* kxend-mini: a tiny PV-entry guest to bring the soft path up without the guest runtime.
 * The first byte of the command line picks what it does:
 *   (default) checks xen_version, the CPUID leaves, -EFAULT for a bad buffer and -ENOSYS for
 *             an unknown hypercall, prints each result, then "RESULT PASS" and powers off
 *   q  powers off at once (create-to-first-instruction measurement)
 *   s  spins forever (pause/unpause/destroy tests)
 *   c  executes ud2 (guest crash)
 *   b  blocks three times on a 5 ms singleshot timer, then powers off
 *   p  makes 100000 xen_version hypercalls through the page, then powers off (benchmark)
 *   v  makes 100000 xen_version hypercalls with an inline vmcall (the slow entry, benchmark)
 *   o  makes 100000 trapped port writes, then powers off (benchmark reference)
 */
#define HC(nr) (hypercall_page + (nr) * 32)
#define HC_set_timer_op 15
#define HC_xen_version 17
#define HC_console_io 18
#define HC_sched_op 29
#define HC_hvm_op 34
#define HC_unknown 40

    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 8, 1            /* XEN_ELFNOTE_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad _start
    .balign 4
    .long 4, 8, 2            /* XEN_ELFNOTE_HYPERCALL_PAGE */
    .asciz "Xen"
    .balign 4
    .quad hypercall_page

    .text
    .globl _start
_start:
    lea stack_top(%rip), %rsp
    mov %rsi, %r15                   /* start_info */
    movzbl 128(%r15), %eax           /* cmd_line[0] */
    cmp $'q', %al
    je poweroff
    cmp $'s', %al
    je spin
    cmp $'c', %al
    je crash
    cmp $'b', %al
    je blocktest
    cmp $'p', %al
    je hcloop
    cmp $'o', %al
    je outloop
    cmp $'v', %al
    je vmcallloop

    lea msg_hello(%rip), %rsi
    call puts

    xor %edi, %edi                   /* XENVER_version */
    xor %esi, %esi
    call HC(HC_xen_version)
    cmp $0x40011, %eax
    jne fail
    lea msg_version(%rip), %rsi
    call puts

    mov $0x40000000, %eax
    xor %ecx, %ecx
    cpuid
    cmp $0x566e6558, %ebx
    jne fail
    cmp $0x65584d4d, %ecx
    jne fail
    cmp $0x4d4d566e, %edx
    jne fail
    mov $0x40000002, %eax
    cpuid
    cmp $1, %eax
    jne fail
    lea msg_cpuid(%rip), %rsi
    call puts

    xor %edi, %edi                   /* CONSOLEIO_write from outside RAM */
    mov $16, %esi
    movabs $0x7fff00000000, %rdx
    call HC(HC_console_io)
    cmp $-14, %rax
    jne fail
    lea msg_efault(%rip), %rsi
    call puts

    call HC(HC_unknown)
    cmp $-38, %rax
    jne fail
    lea msg_enosys(%rip), %rsi
    call puts

    lea msg_pass(%rip), %rsi
    call puts
poweroff:
    movl $0, reason(%rip)
shutdown:
    mov $2, %edi                     /* SCHEDOP_shutdown */
    lea reason(%rip), %rsi
    call HC(HC_sched_op)
    jmp .

fail:
    lea msg_fail(%rip), %rsi
    call puts
    movl $3, reason(%rip)            /* SHUTDOWN_crash */
    jmp shutdown

crash:
    ud2

spin:
    incq counter(%rip)
    jmp spin

blocktest:
    mov $3, %r12d
1:  mov $10, %edi                    /* HVMOP_get_time */
    lea timebuf(%rip), %rsi
    call HC(HC_hvm_op)
    test %rax, %rax
    jne fail
    mov timebuf(%rip), %rdi
    add $5000000, %rdi
    call HC(HC_set_timer_op)
    mov $1, %edi                     /* SCHEDOP_block */
    xor %esi, %esi
    call HC(HC_sched_op)
    mov $10, %edi
    lea timebuf2(%rip), %rsi
    call HC(HC_hvm_op)
    mov timebuf2(%rip), %rax
    sub timebuf(%rip), %rax
    cmp $5000000, %rax               /* woke no earlier than the timer */
    jb fail
    dec %r12d
    jnz 1b
    lea msg_block(%rip), %rsi
    call puts
    jmp poweroff

hcloop:
    mov $100000, %r12d
1:  xor %edi, %edi
    xor %esi, %esi
    call HC(HC_xen_version)
    dec %r12d
    jnz 1b
    jmp poweroff

vmcallloop:
    mov $100000, %r12d
1:  xor %edi, %edi
    xor %esi, %esi
    mov $HC_xen_version, %eax
    vmcall
    dec %r12d
    jnz 1b
    jmp poweroff

outloop:
    mov $100000, %r12d
1:  out %al, $0x80
    dec %r12d
    jnz 1b
    jmp poweroff

/* puts(rsi = NUL-terminated string) through CONSOLEIO_write. */
puts:
    mov %rsi, %rdx
    xor %ecx, %ecx
1:  cmpb $0, (%rsi, %rcx)
    je 2f
    inc %rcx
    jmp 1b
2:  mov %rcx, %rsi
    xor %edi, %edi
    call HC(HC_console_io)
    ret

    .section .rodata
msg_hello:   .asciz "kxend-mini: hello\n"
msg_version: .asciz "ok 1 - xen_version is 4.17\n"
msg_cpuid:   .asciz "ok 2 - cpuid 0x40000000 says XenVMMXenVMM, one hypercall page\n"
msg_efault:  .asciz "ok 3 - console_io with a buffer outside RAM gets -EFAULT\n"
msg_enosys:  .asciz "ok 4 - an unknown hypercall gets -ENOSYS\n"
msg_block:   .asciz "ok 5 - SCHEDOP_block woke on the singleshot timer, 3 times\n"
msg_pass:    .asciz "RESULT PASS\n"
msg_fail:    .asciz "RESULT FAIL\n"

    .data
    .balign 8
reason:   .long 0
    .balign 8
timebuf:  .quad 0
timebuf2: .quad 0
counter:  .quad 0

    .bss
    .balign 4096
hypercall_page: .skip 4096
    .balign 16
stack:    .skip 16384
stack_top:
