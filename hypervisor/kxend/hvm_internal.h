/* The HVM builder's private state, shared by its files: hvm_build.c (RAM layout, firmware,
 * reset state, the debug ports), hvm_linux.c (direct kernel boot), hvm_devices.c (the
 * domain's device instances) and ctl_hvm.c (the control ops).
 *
 * Invariant: d->hvm is set once, on the control thread, while the domain is DOM_BUILDING and
 * before any vCPU exists; it is freed by the HVM subsystem's destroy, after every vCPU has
 * stopped, so a vCPU thread may use it without a reference. */
#ifndef KXEND_HVM_INTERNAL_H
#define KXEND_HVM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "kxen/ctl.h"
#include "kxend/device.h"

/* The guest-physical layout of the emulated PC below 1 MiB and under 4 GiB. */
#define HVM_LOW_RAM_END 0x9fc00ull /* conventional memory the guest may use (EBDA above) */
#define HVM_BIOS_AREA 0xe0000ull   /* [0xe0000, 1 MiB): the firmware's low copy */
#define HVM_ACPI_BASE 0xe0000u     /* direct boot: the ACPI tables, then the $PIR table */
#define HVM_ACPI_SPAN 0x10000u
#define HVM_HIGH_MEM 0x100000ull     /* 1 MiB */
#define HVM_ROM_MIN (64u << 10)      /* smallest firmware image (64 KiB) */
#define HVM_ROM_MAX (256u << 10)     /* SeaBIOS's bios-256k.bin */
#define HVM_ROM_LOW_MAX (128u << 10) /* what fits below 1 MiB: [0xe0000, 0x100000) */
#define HVM_RESET_VECTOR 0xfffffff0ull
/* Debug sinks: QEMU's debugcon (SeaBIOS's default, read back as 0xe9) and Bochs/Xen's 0xe9. */
#define HVM_DEBUG_PORT_QEMU 0x402
#define HVM_DEBUG_PORT_XEN 0xe9
#define HVM_DEBUG_LINE 160 /* bytes buffered before a line without '\n' is flushed */

struct hvm_device {
    const struct device_model *model;
    void *state;
    int fds[KXEN_CTL_MAX_FDS]; /* the toolstack's descriptors, closed after destroy() */
    unsigned nfds;
};

struct hvm_domain {
    uint8_t *rom; /* firmware image (mmap'd, page-aligned), NULL for direct kernel boot */
    size_t rom_len;
    uint64_t ram_end; /* RAM the guest may use ends here (the special pages follow) */
    bool xen;         /* KXEN_HVM_BUILD_XEN: PV-on-HVM (vcpu_boot.xen_hvm) */
    struct io_region *debug_port[2];
    pthread_mutex_t debug_lock; /* vCPUs of one domain write the debug ports concurrently */
    char debug_line[HVM_DEBUG_LINE];
    size_t debug_len;
    struct hvm_device *devs; /* created in this order, destroyed in reverse */
    size_t nr_devs, cap_devs;
    /* The event-channel callback's line (hvm_op.c): the platform device's INTx (registered
     * by its model, devfn and setter) and the HVM_PARAM_CALLBACK_IRQ value whose line vCPU
     * 0's thread holds raised (0: none; only that thread touches it). */
    void (*platform_intx)(void *opaque, bool level);
    void *platform_opaque;
    unsigned platform_devfn;
    uint64_t callback_raised;
};

/* The first part of every build: refuses what the machine cannot hold (RAM beyond the PCI
 * hole; with pc_modes, an accelerator that cannot run a PC's real mode and interrupt
 * controllers), then d->hvm, the interrupt controllers where the accelerator has them, the
 * debug ports and the special pages at the top of RAM. 0 or -errno with msg filled. */
int hvm_prepare(struct domain *d, bool pc_modes, bool xen, uint32_t store_evtchn,
                uint32_t console_evtchn, char *msg, size_t msglen);
/* Firmware boot: the image read from fd (64..256 KiB, a multiple of 64 KiB) ends at 4 GiB
 * (read-only) and its last 128 KiB at 1 MiB (RAM); vCPU 0 at the reset vector. */
int hvm_load_firmware(struct domain *d, int fd, char *msg, size_t msglen);
/* Direct kernel boot (hvm_linux.c): a bzImage (img, len) through Linux's 32-bit boot
 * protocol, with an optional ramdisk (fd < 0: none). */
int hvm_load_linux(struct domain *d, const uint8_t *img, size_t len, int ramdisk_fd,
                   const char *cmdline, bool acpi, char *msg, size_t msglen);
/* The ACPI tables of the PC (hvm_acpi.c) for nr_vcpus, written by the direct boot
 * (hvm_linux.c) in [HVM_ACPI_BASE, + HVM_ACPI_SPAN):
 * 0 and the RSDP's address in *rsdp, or -EINVAL (vCPU count), -EFAULT, -E2BIG. */
int hvm_acpi_tables(struct domain *d, unsigned nr_vcpus, uint64_t *rsdp);
/* An ELF test guest (no firmware, entered as the accelerator enters PV/PVH guests). */
int hvm_load_elf(struct domain *d, const uint8_t *img, size_t len, int ramdisk_fd,
                 const char *cmdline, char *msg, size_t msglen);
/* Makes the secondary vCPUs wait for INIT/SIPI inside the accelerator (a PC's APs are not
 * brought up through VCPUOP_up). */
void hvm_aps_wait_for_sipi(struct domain *d);

/* The placeholder boot of a restored domain's vCPUs (save_hvm.c): what an HVM domain's
 * vCPUs need besides the saved registers. No-op for other domains. */
void hvm_restore_boot(struct domain *d, struct vcpu_boot *boot);

/* Releases d->hvm (debug ports, ROM); the devices must be gone. NULL-safe. */
void hvm_domain_free(struct domain *d);

/* Device instances (hvm_devices.c): creates one instance of model with options (which name
 * the descriptors as fd=N). The nfds descriptors become the instance's: closed after its
 * destroy(), or at once when create() fails. */
int hvm_device_add(struct domain *d, const struct device_model *model, const char *options,
                   const int *fds, unsigned nfds);
/* Hands a toolstack trigger (KXEN_TRIGGER_*) to the first device whose model takes it: 0, the
 * model's error, -EOPNOTSUPP (no device has that input) or -EINVAL (not an HVM domain). The
 * device list is fixed once the domain runs, so this needs no lock against DEVICE_ADD. */
int hvm_device_trigger(struct domain *d, unsigned trigger);

#endif
