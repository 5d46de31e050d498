/* How the guest was entered; shared by boot.S and C (plain #defines). */
#ifndef GUEST_BOOT_KIND_H
#define GUEST_BOOT_KIND_H

#define BOOT_KIND_PV 0  /* XEN_ELFNOTE_ENTRY, 64-bit, %rsi = struct start_info (soft) */
#define BOOT_KIND_PVH 1 /* XEN_ELFNOTE_PHYS32_ENTRY, %ebx = struct hvm_start_info (kvm) */

#endif
