/* Direct kernel boot of an HVM guest (xl's kernel=/ramdisk=/cmdline= with type "hvm"): Linux's
 * x86 32-bit boot protocol (Documentation/x86/boot.rst), as a boot loader does it after the
 * real-mode part: the protected-mode kernel of the bzImage at 1 MiB, the zero page
 * (boot_params: a copy of the image's setup header, the e820 map, the command line and
 * ramdisk pointers), the ramdisk at the top of usable RAM, and vCPU 0 in 32-bit protected mode
 * with flat segments at code32_start, esi = the zero page. No firmware runs: kxend leaves the
 * tables a firmware would. With ACPI (the toolstack's choice) those are hvm_acpi.c's, their
 * RSDP also in boot_params.acpi_rsdp_addr; without, the guest finds the PC's devices by
 * probing (legacy PIC, PCI config ports). Either way it gets a $PIR routing table, which
 * Linux uses for PCI interrupts when it runs without ACPI: without it Linux cannot route a
 * PCI function's INTx (it would take IRQ 0, the timer's).
 * The image is untrusted: every header field is checked against the file before use. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvm_internal.h"
#include "kxen/util.h"
#include "kxend/guest_mem.h"
#include "kxend/hvm_acpi.h"
#include "loader_internal.h"

/* Setup header fields (offsets in the image and in boot_params alike). */
#define BP_ACPI_RSDP_ADDR 0x070 /* boot protocol 2.14; older kernels scan 0xe0000 for it */
#define BP_ALT_MEM_K 0x1e0
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define HDR_START 0x1f1 /* setup_sects: the first header byte */
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200 /* its second byte + 0x202 is where the header ends */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_CMDLINE_SIZE 0x238
#define HDR_INIT_SIZE 0x260
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define MIN_PROTOCOL 0x20a /* init_size (2.10): how much RAM the kernel needs at its address */

/* Where the builder puts things below 1 MiB (all inside conventional memory). */
#define ZERO_PAGE_GPA 0x10000ull
#define CMDLINE_GPA 0x20000ull
#define STACK_TOP 0x8000ull

#define E820_RAM 1
#define E820_RESERVED 2

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void e820_add(uint8_t *zp, uint64_t addr, uint64_t size, uint32_t type)
{
    uint8_t n = zp[BP_E820_ENTRIES];
    uint8_t *e = zp + BP_E820_TABLE + 20u * n;
    memcpy(e, &addr, 8);
    memcpy(e + 8, &size, 8);
    memcpy(e + 16, &type, 4);
    zp[BP_E820_ENTRIES] = (uint8_t)(n + 1);
}

/* The PCI interrupt routing table ($PIR, Microsoft's "PCI IRQ Routing Table Specification"
 * 1.0) in the BIOS area, where Linux's pirq code scans for it (0xf0000-0xfffff, 16-byte
 * aligned): the router is the PIIX3 at 00:01.0 (its PIRQA-D route registers 0x60-0x63, which
 * Linux programs itself when they are unrouted), and slot s pin p (INTA = 1) is wired to PIRQ
 * (s + p - 1) & 3 as the piix3 model wires it. The IRQs offered avoid the ISA devices' (COM1
 * 4, CMOS 8, IDE 14 and 15). */
#define PIR_GPA 0xf0000ull
#define PIR_SLOTS 6       /* 00:01 to 00:06: the machine's functions and room for more */
#define PIR_IRQS 0x0e20u  /* IRQ 5, 9, 10, 11 */
#define PIR_LINK0 0x60    /* a link value is the router's config register for that PIRQ */
#define PIR_ROUTER 0x7000 /* PIIX3 ISA bridge: Linux's PIIX router */
static void pir_write(struct domain *d)
{
    uint8_t t[32 + 16 * PIR_SLOTS];
    memset(t, 0, sizeof(t));
    memcpy(t, "$PIR", 4);
    wr16(t + 4, 0x0100);                                /* version 1.0 */
    wr16(t + 6, (uint16_t)sizeof(t));                   /* table size */
    t[8] = 0;                                           /* router bus */
    t[9] = 1 << 3;                                      /* router devfn: 00:01.0 */
    wr32(t + 12, 0x8086u | (uint32_t)PIR_ROUTER << 16); /* compatible router */
    for (unsigned i = 0; i < PIR_SLOTS; i++) {
        uint8_t *e = t + 32 + 16 * i;
        unsigned slot = i + 1;
        e[1] = (uint8_t)(slot << 3);
        for (unsigned pin = 1; pin <= 4; pin++) {
            e[2 + 3 * (pin - 1)] = (uint8_t)(PIR_LINK0 + ((slot + pin - 1) & 3));
            wr16(e + 3 + 3 * (pin - 1), PIR_IRQS);
        }
        e[14] = (uint8_t)slot;
    }
    uint8_t sum = 0;
    for (size_t i = 0; i < sizeof(t); i++)
        sum = (uint8_t)(sum + t[i]);
    t[31] = (uint8_t)-sum;
    copy_to_guest_phys(d, PIR_GPA, t, sizeof(t));
}

int hvm_acpi_tables(struct domain *d, unsigned nr_vcpus, uint64_t *rsdp)
{
    uint8_t *t = guest_phys_ptr(d, HVM_ACPI_BASE, HVM_ACPI_SPAN);
    if (!t)
        return -EFAULT;
    _Static_assert(HVM_ACPI_SPAN <= HVM_ACPI_IMAGE_MAX, "the image fits the span");
    int rc = hvm_acpi_build(t, HVM_ACPI_SPAN, HVM_ACPI_BASE, nr_vcpus);
    if (rc < 0)
        return rc;
    guest_mark_dirty(d, HVM_ACPI_BASE, HVM_ACPI_SPAN);
    *rsdp = HVM_ACPI_BASE + HVM_ACPI_RSDP;
    return 0;
}

static int ramdisk_place(struct domain *d, int fd, uint64_t lo, uint64_t hi, uint64_t *gpa,
                         uint64_t *size, char *msg, size_t msglen)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return loader_fail(msg, msglen, -EINVAL, "the ramdisk is not a regular file");
    uint64_t len = (uint64_t)st.st_size;
    if (len == 0 || len > hi || hi - len < lo)
        return loader_fail(msg, msglen, -ENOMEM,
                           "the ramdisk (%llu bytes) does not fit between the kernel (ends at "
                           "%#llx) and %#llx",
                           (unsigned long long)len, (unsigned long long)lo, (unsigned long long)hi);
    uint64_t at = (hi - len) & ~(KXEN_PAGE_SIZE - 1);
    uint8_t *dst = guest_phys_ptr(d, at, len);
    for (uint64_t got = 0; dst && got < len;) {
        ssize_t n = pread(fd, dst + got, len - got, (off_t)got);
        if (n <= 0)
            return loader_fail(msg, msglen, n < 0 ? -errno : -EIO, "cannot read the ramdisk");
        got += (uint64_t)n;
    }
    *gpa = at;
    *size = len;
    return 0;
}

int hvm_load_linux(struct domain *d, const uint8_t *img, size_t len, int ramdisk_fd,
                   const char *cmdline, bool acpi, char *msg, size_t msglen)
{
    if (len < HDR_INIT_SIZE + 4 || memcmp(img + HDR_MAGIC, "HdrS", 4) ||
        img[HDR_BOOT_FLAG] != 0x55 || img[HDR_BOOT_FLAG + 1] != 0xaa)
        return loader_fail(msg, msglen, -ENOEXEC,
                           "the kernel is not a Linux bzImage (no boot-protocol header): HVM "
                           "direct boot takes /boot/vmlinuz-style images");
    unsigned version = img[HDR_VERSION] | img[HDR_VERSION + 1] << 8;
    if (version < MIN_PROTOCOL || !(img[HDR_LOADFLAGS] & LOADED_HIGH))
        return loader_fail(msg, msglen, -ENOEXEC,
                           "boot protocol %u.%02u without a high-loaded kernel: HVM direct boot "
                           "needs 2.10 or later (Linux 2.6.31+)",
                           version >> 8, version & 0xff);
    uint64_t setup = ((uint64_t)(img[HDR_START] ? img[HDR_START] : 4) + 1) * 512;
    size_t hdr_end = HDR_MAGIC + img[HDR_JUMP + 1];
    if (setup >= len || hdr_end > setup || hdr_end > KXEN_PAGE_SIZE)
        return loader_fail(msg, msglen, -ENOEXEC, "the bzImage's setup size is inconsistent");
    uint64_t pm_len = len - setup;
    uint64_t init_size = rd32(img + HDR_INIT_SIZE);
    uint64_t need = pm_len > init_size ? pm_len : init_size;
    uint64_t ram_end = d->hvm->ram_end;
    if (HVM_HIGH_MEM + need > ram_end)
        return loader_fail(msg, msglen, -ENOMEM,
                           "the kernel needs %llu MiB above 1 MiB (init_size), the guest has "
                           "%llu MiB",
                           (unsigned long long)(need >> 20),
                           (unsigned long long)((ram_end - HVM_HIGH_MEM) >> 20));
    size_t cmax = version >= 0x206 ? rd32(img + HDR_CMDLINE_SIZE) : 255;
    size_t clen = strlen(cmdline);
    if (clen > cmax || clen >= HVM_LOW_RAM_END - CMDLINE_GPA)
        return loader_fail(msg, msglen, -EINVAL, "command line of %zu bytes, the kernel takes %zu",
                           clen, cmax);

    uint64_t rd_gpa = 0, rd_size = 0;
    if (ramdisk_fd >= 0) {
        uint64_t hi = KXEN_MIN(ram_end, (uint64_t)rd32(img + HDR_INITRD_ADDR_MAX) + 1);
        int rc =
            ramdisk_place(d, ramdisk_fd, HVM_HIGH_MEM + need, hi, &rd_gpa, &rd_size, msg, msglen);
        if (rc < 0)
            return rc;
    }
    copy_to_guest_phys(d, HVM_HIGH_MEM, img + setup, pm_len);
    copy_to_guest_phys(d, CMDLINE_GPA, cmdline, clen + 1);
    pir_write(d);
    uint64_t rsdp = 0;
    int rc = acpi ? hvm_acpi_tables(d, d->nr_vcpus, &rsdp) : 0;
    if (rc < 0)
        return loader_fail(msg, msglen, rc, "cannot write the ACPI tables for %u vCPUs",
                           d->nr_vcpus);

    uint8_t *zp = guest_phys_ptr(d, ZERO_PAGE_GPA, KXEN_PAGE_SIZE);
    memset(zp, 0, KXEN_PAGE_SIZE);
    memcpy(zp + HDR_START, img + HDR_START, hdr_end - HDR_START);
    wr16(zp + HDR_VID_MODE, 0xffff); /* "normal": no mode switch was done */
    zp[HDR_TYPE_OF_LOADER] = 0xff;   /* undefined boot loader */
    zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    wr16(zp + HDR_HEAP_END_PTR, 0xfe00);
    wr32(zp + HDR_CODE32_START, (uint32_t)HVM_HIGH_MEM);
    wr32(zp + HDR_CMD_LINE_PTR, (uint32_t)CMDLINE_GPA);
    wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)rd_gpa);
    wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)rd_size);
    wr32(zp + BP_ALT_MEM_K, (uint32_t)((ram_end - HVM_HIGH_MEM) >> 10));
    memcpy(zp + BP_ACPI_RSDP_ADDR, &rsdp, 8);
    e820_add(zp, 0, HVM_LOW_RAM_END, E820_RAM);
    e820_add(zp, HVM_LOW_RAM_END, 0xa0000 - HVM_LOW_RAM_END, E820_RESERVED);
    e820_add(zp, HVM_ACPI_BASE, HVM_HIGH_MEM - HVM_ACPI_BASE, E820_RESERVED);
    e820_add(zp, HVM_HIGH_MEM, ram_end - HVM_HIGH_MEM, E820_RAM);
    e820_add(zp, ram_end, d->ram_size - ram_end, E820_RESERVED);

    struct vcpu_boot boot = {.mode = VCPU_BOOT_PROT32,
                             .entry = HVM_HIGH_MEM,
                             .rsi = ZERO_PAGE_GPA,
                             .rsp = STACK_TOP,
                             .lapic = d->hvm->xen,
                             .xen_hvm = d->hvm->xen};
    if ((rc = domain_set_boot(d, &boot)) < 0)
        return loader_fail(msg, msglen, rc, "the domain is not being built");
    hvm_aps_wait_for_sipi(d);
    return 0;
}
