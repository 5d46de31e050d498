/* The ACPI fixed hardware of kxen's emulated PC, as the "acpi-pm" device model implements it
 * and the HVM builder's tables (FADT, MADT, DSDT) describe it: both sides take the ports and
 * the SCI line from here, so the tables never name a register the model does not have. Also
 * the tables' builder (hvm_acpi.c), which the direct kernel boot and the "fw-cfg" model share.
 *
 * Layout (ACPI 6.x, 4.8 "ACPI Hardware Specification"): the PM1a event block (PM1_STS, then
 * PM1_EN, 16 bits each), the PM1a control block (16 bits) and the 24-bit PM timer, in one
 * I/O range at 0xb000 (where a PIIX4's PM base usually sits; nothing else of the machine uses
 * it, and the PCI BARs the guest assigns start at 0x1000 and stay small). No PM1b, PM2 or GPE
 * blocks. The SCI is ISA IRQ 9, level-triggered and active-high (the MADT's override says
 * so). */
#ifndef KXEND_HVM_ACPI_H
#define KXEND_HVM_ACPI_H

#define ACPI_PM_BASE 0xb000u
#define ACPI_PM_LEN 0x0cu
#define ACPI_PM1A_EVT (ACPI_PM_BASE + 0x0) /* PM1_STS at +0, PM1_EN at +2 */
#define ACPI_PM1_EVT_LEN 4u
#define ACPI_PM1A_CNT (ACPI_PM_BASE + 0x4)
#define ACPI_PM1_CNT_LEN 2u
#define ACPI_PM_TMR (ACPI_PM_BASE + 0x8)
#define ACPI_PM_TMR_LEN 4u
#define ACPI_PM_TMR_HZ 3579545u /* the PM timer's fixed frequency */
#define ACPI_SCI_IRQ 9u

/* PM1_STS / PM1_EN bits. */
#define ACPI_PM1_TMR 0x0001u    /* timer carry (bit 23 toggled) */
#define ACPI_PM1_GBL 0x0020u    /* global lock release: no global lock, never set */
#define ACPI_PM1_PWRBTN 0x0100u /* the fixed power button */
#define ACPI_PM1_SLPBTN 0x0200u /* the fixed sleep button: absent (FADT SLP_BUTTON) */
#define ACPI_PM1_WAK 0x8000u    /* PM1_STS only: the machine woke */
/* PM1_CNT bits. */
#define ACPI_PM1_SCI_EN 0x0001u
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK 0x1c00u
#define ACPI_PM1_SLP_EN 0x2000u
/* The SLP_TYP value \_S5 holds in the HVM DSDT (soft off). */
#define ACPI_S5_SLP_TYP 5u

#include <stddef.h>
#include <stdint.h>

/* The image hvm_acpi_build() writes: the RSDP at offset 0 (HVM_ACPI_RSDP_LEN bytes, ACPI 2.0,
 * its checksum over the first 20 bytes and its extended checksum over all 36), then the
 * XSDT, FACS, FADT, MADT and DSDT, each at a fixed offset, within HVM_ACPI_IMAGE_MAX bytes. */
#define HVM_ACPI_RSDP 0u
#define HVM_ACPI_RSDP_LEN 36u
#define HVM_ACPI_RSDP_SUM 8u      /* over bytes [0, 20) */
#define HVM_ACPI_RSDP_EXT_SUM 32u /* over bytes [0, 36) */
#define HVM_ACPI_IMAGE_MAX 0x10000u

/* Builds the image for nr_vcpus into buf (cap bytes; zeroed first) as it must read at
 * guest-physical gpa: its length, or -EINVAL (nr_vcpus is 0 or more than the MADT holds) or
 * -E2BIG (cap too small). */
int hvm_acpi_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned nr_vcpus);

/* A field of the image that holds the address of another of its tables: gpa plus the target's
 * offset, size bytes little-endian at offset field, inside the table at offset table (the
 * RSDP, or a table whose standard header's length and checksum cover the field). A loader
 * that moves the image adds the new base to each and fixes those tables' checksums. */
struct hvm_acpi_pointer {
    uint32_t table;
    uint32_t field;
    uint8_t size;
};
extern const struct hvm_acpi_pointer hvm_acpi_pointers[];
extern const unsigned hvm_acpi_nr_pointers;

#endif
