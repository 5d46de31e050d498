/* The domain builder's ACPI tables for Linux PVH guests, the way Xen's toolstack gives a PVH
 * domU its CPUs and its power button: RSDP -> XSDT -> MADT (one local APIC per vCPU, ACPI
 * processor UID = APIC id = vCPU id, which Linux takes as the Xen vCPU id; no I/O APIC) and
 * a hardware-reduced FADT (no SCI, PM timer or PIC) whose DSDT holds only \_S5. Linux powers
 * off by writing SLP_TYP|SLP_EN to the FADT's sleep control register and reboots through its
 * reset register: both are kxend ports that end the domain with SHUTDOWN_poweroff or
 * SHUTDOWN_reboot, as the SCHEDOP_shutdown a PV guest would make.
 * Invariant: the tables lie inside [ACPI_BASE, ACPI_BASE + ACPI_SPAN), in the legacy BIOS area
 * that Linux keeps out of its RAM on PVH (0xA0000-0x100000); hvm_start_info.rsdp_paddr points
 * at the RSDP, which also sits where the legacy scan would find it. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <kxen/sched.h>

#include "core.h"
#include "kxend/guest_mem.h"
#include "kxend/io.h"
#include "loader_internal.h"

#define ACPI_BASE 0xe0000u
#define ACPI_SPAN 0x10000u
#define ACPI_XSDT_OFF 0x40u
#define ACPI_FADT_OFF 0x100u
#define ACPI_DSDT_OFF 0x300u
#define ACPI_MADT_OFF 0x400u
#define ACPI_MAX_VCPUS 255 /* MADT local APIC entries carry 8-bit ids */

/* kxend's registers (I/O ports, unused on a PC; only Linux PVH domains have them). */
#define ACPI_SLEEP_CONTROL_PORT 0xb004u
#define ACPI_SLEEP_STATUS_PORT 0xb005u
#define ACPI_RESET_PORT 0xcf9u
#define ACPI_RESET_VALUE 0x06u
#define ACPI_SLP_TYP(v) (((v) >> 2) & 7u)
#define ACPI_SLP_EN 0x20u
#define ACPI_S5_TYPE 5u

#define FADT_REV 5
#define FADT_LEN 268
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_FLAG_HW_REDUCED (1u << 20)
#define FADT_BOOT_NO_VGA (1u << 2)
#define FADT_BOOT_NO_CMOS_RTC (1u << 5)

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {     /* generic address structure */
    uint8_t space_id; /* 1: system I/O */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size; /* 1: byte */
    uint64_t address;
} __attribute__((packed));

struct acpi_rsdp {
    char signature[8];
    uint8_t checksum; /* first 20 bytes */
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum; /* all 36 bytes */
    uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "ACPI GAS is 12 bytes");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 2.0 RSDP is 36 bytes");

/* DSDT body: Name (_S5, Package (4) { 5, 5, 0, 0 }). */
static const uint8_t dsdt_s5[] = {0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08,
                                  0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};

static uint8_t acpi_sum(const void *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += ((const uint8_t *)p)[i];
    return (uint8_t)-s;
}

static void header(uint8_t *at, const char *sig, uint32_t len, uint8_t rev)
{
    struct acpi_header h = {
        .length = len, .revision = rev, .oem_revision = 1, .creator_revision = 1};
    memcpy(h.signature, sig, 4);
    memcpy(h.oem_id, "KXEN  ", 6);
    memcpy(h.oem_table_id, "KXENPVH ", 8);
    memcpy(h.creator_id, "KXEN", 4);
    memcpy(at, &h, sizeof(h));
}

static void finish(uint8_t *at, uint32_t len)
{
    at[offsetof(struct acpi_header, checksum)] = acpi_sum(at, len);
}

static void gas_io8(uint8_t *at, uint16_t port)
{
    struct acpi_gas g = {.space_id = 1, .bit_width = 8, .access_size = 1, .address = port};
    memcpy(at, &g, sizeof(g));
}

static void put32(uint8_t *at, uint32_t v)
{
    memcpy(at, &v, 4);
}

static uint32_t fadt_build(uint8_t *f)
{
    header(f, "FACP", FADT_LEN, FADT_REV);
    put32(f + 40, ACPI_BASE + ACPI_DSDT_OFF); /* DSDT */
    uint16_t boot = FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC;
    memcpy(f + 109, &boot, 2);
    put32(f + 112, FADT_FLAG_HW_REDUCED | FADT_FLAG_RESET_REG_SUP);
    gas_io8(f + 116, ACPI_RESET_PORT);
    f[128] = ACPI_RESET_VALUE;
    uint64_t x_dsdt = ACPI_BASE + ACPI_DSDT_OFF;
    memcpy(f + 140, &x_dsdt, 8);
    gas_io8(f + 244, ACPI_SLEEP_CONTROL_PORT);
    gas_io8(f + 256, ACPI_SLEEP_STATUS_PORT);
    finish(f, FADT_LEN);
    return FADT_LEN;
}

static uint32_t madt_build(uint8_t *m, unsigned nr_vcpus)
{
    uint32_t len = 44 + 8 * nr_vcpus;
    header(m, "APIC", len, 3);
    put32(m + 36, 0xfee00000u); /* local APIC address */
    put32(m + 40, 0);           /* no PC-AT 8259 pair */
    for (unsigned i = 0; i < nr_vcpus; i++) {
        uint8_t *e = m + 44 + 8 * i;
        e[0] = 0; /* processor local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i; /* ACPI processor UID = Xen vCPU id */
        e[3] = (uint8_t)i; /* APIC id (KVM's default: the vCPU id) */
        put32(e + 4, 1);   /* enabled */
    }
    finish(m, len);
    return len;
}

uint64_t loader_pvh_acpi_tables(struct domain *d, unsigned nr_vcpus)
{
    if (nr_vcpus == 0 || nr_vcpus > ACPI_MAX_VCPUS || ACPI_MADT_OFF + 44 + 8 * nr_vcpus > ACPI_SPAN)
        return 0;
    uint8_t *t = guest_phys_ptr(d, ACPI_BASE, ACPI_SPAN);
    if (!t)
        return 0;
    memset(t, 0, ACPI_SPAN);
    fadt_build(t + ACPI_FADT_OFF);
    uint32_t dsdt_len = sizeof(struct acpi_header) + sizeof(dsdt_s5);
    header(t + ACPI_DSDT_OFF, "DSDT", dsdt_len, 2);
    memcpy(t + ACPI_DSDT_OFF + sizeof(struct acpi_header), dsdt_s5, sizeof(dsdt_s5));
    finish(t + ACPI_DSDT_OFF, dsdt_len);
    madt_build(t + ACPI_MADT_OFF, nr_vcpus);

    uint8_t *x = t + ACPI_XSDT_OFF;
    uint32_t xsdt_len = sizeof(struct acpi_header) + 2 * 8;
    header(x, "XSDT", xsdt_len, 1);
    uint64_t ent[2] = {ACPI_BASE + ACPI_FADT_OFF, ACPI_BASE + ACPI_MADT_OFF};
    memcpy(x + sizeof(struct acpi_header), ent, sizeof(ent));
    finish(x, xsdt_len);

    struct acpi_rsdp r = {.revision = 2, .length = sizeof(r), .xsdt = ACPI_BASE + ACPI_XSDT_OFF};
    memcpy(r.signature, "RSD PTR ", 8);
    memcpy(r.oem_id, "KXEN  ", 6);
    r.checksum = acpi_sum(&r, 20);
    r.ext_checksum = acpi_sum(&r, sizeof(r));
    memcpy(t, &r, sizeof(r));
    guest_mark_dirty(d, ACPI_BASE, ACPI_SPAN);
    return ACPI_BASE;
}

/* ---- the registers the FADT names ---- */

static uint64_t reg_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return 0; /* sleep status: no wake event pending */
}

static void sleep_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    (void)size;
    if (offset == 0 && (val & ACPI_SLP_EN) && ACPI_SLP_TYP(val) == ACPI_S5_TYPE)
        domain_shutdown(opaque, SHUTDOWN_poweroff);
}

static void reset_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    (void)offset, (void)size;
    if ((val & 0xff) == ACPI_RESET_VALUE)
        domain_shutdown(opaque, SHUTDOWN_reboot);
}

int loader_pvh_acpi_ports(struct domain *d)
{
    static const struct io_region_ops sleep_ops = {"ACPI sleep control/status", reg_read,
                                                   sleep_write};
    static const struct io_region_ops reset_ops = {"ACPI reset register", reg_read, reset_write};
    struct io_region *r;
    int rc = io_register_port(d, ACPI_SLEEP_CONTROL_PORT, 2, &sleep_ops, d, &r);
    if (rc == 0)
        rc = io_register_port(d, ACPI_RESET_PORT, 1, &reset_ops, d, &r);
    return rc;
}
