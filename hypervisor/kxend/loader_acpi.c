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

#include "acpi_tables.h"
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
#define TABLE_ID "KXENPVH "

/* DSDT body: Name (_S5, Package (4) { 5, 5, 0, 0 }). */
static const uint8_t dsdt_s5[] = {0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x08,
                                  0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};

static uint32_t fadt_build(uint8_t *f)
{
    acpi_header(f, "FACP", FADT_LEN, FADT_REV, TABLE_ID);
    acpi_put32(f + 40, ACPI_BASE + ACPI_DSDT_OFF); /* DSDT */
    acpi_put16(f + 109, FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC);
    acpi_put32(f + 112, FADT_FLAG_HW_REDUCED | FADT_FLAG_RESET_REG_SUP);
    acpi_gas_io(f + 116, ACPI_RESET_PORT, 8, 1);
    f[128] = ACPI_RESET_VALUE;
    acpi_put64(f + 140, ACPI_BASE + ACPI_DSDT_OFF);
    acpi_gas_io(f + 244, ACPI_SLEEP_CONTROL_PORT, 8, 1);
    acpi_gas_io(f + 256, ACPI_SLEEP_STATUS_PORT, 8, 1);
    acpi_finish(f, FADT_LEN);
    return FADT_LEN;
}

static uint32_t madt_build(uint8_t *m, unsigned nr_vcpus)
{
    uint32_t len = ACPI_MADT_HEADER_LEN + ACPI_MADT_LAPIC_LEN * nr_vcpus;
    acpi_header(m, "APIC", len, 3, TABLE_ID);
    acpi_put32(m + 36, 0xfee00000u); /* local APIC address */
    acpi_put32(m + 40, 0);           /* no PC-AT 8259 pair */
    acpi_madt_lapics(m + ACPI_MADT_HEADER_LEN, nr_vcpus);
    acpi_finish(m, len);
    return len;
}

uint64_t loader_pvh_acpi_tables(struct domain *d, unsigned nr_vcpus)
{
    if (nr_vcpus == 0 || nr_vcpus > ACPI_MAX_VCPUS ||
        ACPI_MADT_OFF + ACPI_MADT_HEADER_LEN + ACPI_MADT_LAPIC_LEN * nr_vcpus > ACPI_SPAN)
        return 0;
    uint8_t *t = guest_phys_ptr(d, ACPI_BASE, ACPI_SPAN);
    if (!t)
        return 0;
    memset(t, 0, ACPI_SPAN);
    fadt_build(t + ACPI_FADT_OFF);
    uint32_t dsdt_len = sizeof(struct acpi_header) + sizeof(dsdt_s5);
    acpi_header(t + ACPI_DSDT_OFF, "DSDT", dsdt_len, 2, TABLE_ID);
    memcpy(t + ACPI_DSDT_OFF + sizeof(struct acpi_header), dsdt_s5, sizeof(dsdt_s5));
    acpi_finish(t + ACPI_DSDT_OFF, dsdt_len);
    madt_build(t + ACPI_MADT_OFF, nr_vcpus);
    static const uint64_t tables[2] = {ACPI_BASE + ACPI_FADT_OFF, ACPI_BASE + ACPI_MADT_OFF};
    acpi_root(t, ACPI_BASE, ACPI_XSDT_OFF, TABLE_ID, tables, 2);
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
