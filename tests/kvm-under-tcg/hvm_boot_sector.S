/* The boot sector of the kvm-under-TCG VM's SeaBIOS guest (vm-guests.sh's xl-hvm; assembled
 * by run-vm.sh as a flat 512-byte image loaded at 0x7c00 in real mode). It prints
 * "KXEN-BOOTSECTOR-OK" on COM1 and port 0xe9, then looks for the ACPI RSDP as an OS does, on
 * the 16-byte boundaries of the F segment (0xf0000-0xfffff), and prints KXEN-RSDP-OK when it
 * finds one whose checksum over 20 bytes and, for revision 2 and later, extended checksum over
 * 36 bytes hold (KXEN-RSDP-V1-OK for an ACPI 1.0 one, KXEN-RSDP-NONE without), then halts.
 * SeaBIOS places the RSDP there from fw-cfg's etc/acpi/rsdp (docs/hvm.md, "fw_cfg"). */
    .code16
    .text
    .globl _start
_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    mov $boot_ok, %si
    call puts
    mov $0xf000, %ax
    mov %ax, %es
    xor %di, %di
1:  cmpl $0x20445352, %es:(%di)   /* "RSD " */
    jne 2f
    cmpl $0x20525450, %es:4(%di)  /* "PTR " */
    jne 2f
    mov $20, %cx
    call sum
    jnz 2f
    mov $rsdp_v1, %si
    cmpb $2, %es:15(%di)          /* the revision */
    jb 3f
    mov $36, %cx
    call sum
    jnz 2f
    mov $rsdp_ok, %si
    jmp 3f
2:  add $16, %di
    jnz 1b                        /* up to the segment's last paragraph */
    mov $rsdp_none, %si
3:  call puts
4:  hlt
    jmp 4b

/* ZF set when the cx bytes at es:di sum to zero. */
sum:
    xor %al, %al
    mov %di, %bx
5:  add %es:(%bx), %al
    inc %bx
    loop 5b
    test %al, %al
    ret

/* The string at ds:si to COM1 and port 0xe9. */
puts:
    lodsb
    test %al, %al
    jz 6f
    mov $0x3f8, %dx
    out %al, %dx
    out %al, $0xe9
    jmp puts
6:  ret

boot_ok: .asciz "KXEN-BOOTSECTOR-OK\r\n"
rsdp_ok: .asciz "KXEN-RSDP-OK\r\n"
rsdp_v1: .asciz "KXEN-RSDP-V1-OK\r\n"
rsdp_none: .asciz "KXEN-RSDP-NONE\r\n"
    .org 510
    .byte 0x55, 0xaa
