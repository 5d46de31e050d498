/* The ACPI fixed hardware of kxen's emulated PC, as the "acpi-pm" device model implements it
 * and the HVM builder's tables (FADT, MADT, DSDT) describe it: both sides take the ports and
 * the SCI line from here, so the tables never name a register the model does not have.
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

#endif
