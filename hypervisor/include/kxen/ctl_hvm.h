/* Payloads of the emulated-machine (HVM) ops of kxend's control socket (ops 160..191 of
 * kxen/ctl.h). Fixed layout, little-endian, explicit padding; every struct's size is a
 * multiple of 8. Documented in docs/hvm.md.
 *
 * Order of a build: DOMAIN_CREATE, then HVM_BUILD (RAM layout, firmware or kernel, reset
 * state; the vCPUs are created paused), then one DEVICE_ADD per emulated device, in the order
 * the devices must exist (a PCI host bridge before the functions behind it), then
 * DOMAIN_UNPAUSE. */
#ifndef KXEN_CTL_HVM_H
#define KXEN_CTL_HVM_H

#include <stdint.h>

#include "kxen/ctl.h"

#define KXEN_CTL_DEVICE_NAME_MAX 32     /* device model name incl. NUL */
#define KXEN_CTL_DEVICE_OPTIONS_MAX 512 /* model options incl. NUL */

/* KXEN_CTL_HVM_BUILD (privileged), with file descriptors:
 * - KXEN_HVM_BOOT_FIRMWARE: one fd, the firmware image (64 KiB .. 256 KiB, a multiple of
 *   64 KiB: SeaBIOS's bios.bin), mapped read-only to end at 4 GiB and copied to end at 1 MiB;
 *   vCPU 0 starts at the reset vector in real mode.
 * - KXEN_HVM_BOOT_KERNEL: the kernel, optionally the ramdisk. A Linux bzImage boots through
 *   Linux's 32-bit boot protocol (boot_params, e820, command line), vCPU 0 at the
 *   protected-mode entry. An ELF image is loaded as for DOMAIN_LOAD and entered as the
 *   accelerator enters PV/PVH guests (soft: 64-bit; kvm: the PVH entry): a test guest that
 *   drives the emulated devices without firmware, on either accelerator.
 * The domain must be DOM_BUILDING with no image (-EBUSY), have at most KXEN_HVM_MAX_LOW_RAM
 * of RAM (-E2BIG), and, for firmware and bzImage boots, run on an accelerator that can run
 * an emulated PC's CPU modes and interrupt controllers (-EOPNOTSUPP, with the reason). The
 * vCPUs are created paused: DOMAIN_UNPAUSE starts them. */
#define KXEN_HVM_BOOT_FIRMWARE 0
#define KXEN_HVM_BOOT_KERNEL 1
/* No fds, no image: the machine of a domain being restored (RAM layout, interrupt
 * controllers, special pages); the vCPUs are created by RESTORE_BEGIN, after the toolstack
 * has added the same devices in the same order (kxen/ctl_save.h, KXEN_SREC_DEVICE). */
#define KXEN_HVM_BOOT_RESTORE 2
/* RAM lies below the PCI hole, which starts here (SeaBIOS then places 32-bit BARs above). */
#define KXEN_HVM_PCI_HOLE 0xc0000000ull
#define KXEN_HVM_MAX_LOW_RAM KXEN_HVM_PCI_HOLE
/* flags: KXEN_HVM_BUILD_XEN makes the guest a PV-on-HVM one (the toolstack sets it with the
 * platform device): CPUID shows Xen's leaves, its kernel's hypercall instructions reach kxend
 * (docs/hvm.md), its upcalls arrive as the callback vector. Without it the guest sees a plain
 * PC. Other bits: -EINVAL. */
#define KXEN_HVM_BUILD_XEN 0x1u
/* KXEN_HVM_BUILD_ACPI: the machine has ACPI (xl.cfg acpi = 1, the default). A directly booted
 * Linux then gets kxend's ACPI tables (docs/hvm.md), which describe the "acpi-pm" device model
 * and route PCI interrupts as the toolstack presets them in the "piix3" model: PIRQ n to ISA
 * IRQ KXEN_HVM_PIRQ_IRQ(n) (what SeaBIOS programs too). Without it such a guest gets no ACPI
 * and routes PCI interrupts itself through the $PIR table. */
#define KXEN_HVM_BUILD_ACPI 0x2u
#define KXEN_HVM_PIRQ_IRQ(n) ((n) < 2 ? 10u : 11u)
struct kxen_ctl_hvm_build {
    uint16_t domid;
    uint16_t flags; /* KXEN_HVM_BUILD_* */
    uint32_t boot;  /* KXEN_HVM_BOOT_* */
    uint32_t store_evtchn, console_evtchn;
    char cmdline[1024]; /* KXEN_HVM_BOOT_KERNEL only; NUL-terminated */
};
struct kxen_ctl_hvm_build_rep {
    uint64_t ram_end; /* RAM the guest may use: [0, ram_end) minus the legacy holes */
    uint64_t store_pfn, console_pfn;
    uint64_t entry; /* guest-physical address of the first instruction */
};

/* KXEN_CTL_DEVICE_ADD (privileged): creates one instance of the registered device model name
 * in the domain (after HVM_BUILD, before the domain first runs). options is the model's own
 * string; each fd passed with the request is appended to it as ",fd=N", N being kxend's
 * descriptor for it, first fd first. kxend keeps those descriptors open for the instance's
 * whole life and closes them after the model's destroy() (a model never closes them). -ENOENT
 * for an unknown model (the reason names the known ones), -EBUSY when the domain is not being
 * built, or the model's error. */
struct kxen_ctl_device_add {
    uint16_t domid;
    uint16_t pad[3];
    char name[KXEN_CTL_DEVICE_NAME_MAX];
    char options[KXEN_CTL_DEVICE_OPTIONS_MAX];
};

/* KXEN_CTL_HVM_TRIGGER (privileged): a platform event for a running HVM domain, numbered as
 * Xen's XEN_DOMCTL_SENDTRIGGER_*. The first of the domain's device models that has the input
 * takes it (the "acpi-pm" model: the fixed power button, PWRBTN_STS and the SCI). -ESRCH (no
 * such domain), -EINVAL (not an HVM domain, an unknown trigger), -EOPNOTSUPP with the reason
 * (no device has that input: sleep, nmi, reset, init and s3resume on kxen's PC). */
#define KXEN_TRIGGER_NMI 0
#define KXEN_TRIGGER_RESET 1
#define KXEN_TRIGGER_INIT 2
#define KXEN_TRIGGER_POWER 3
#define KXEN_TRIGGER_SLEEP 4
#define KXEN_TRIGGER_S3RESUME 5
struct kxen_ctl_hvm_trigger {
    uint16_t domid;
    uint16_t pad;
    uint32_t trigger; /* KXEN_TRIGGER_* */
};

#endif
