/* The ACPI tables of the emulated PC, built into a buffer as they must read at a given
 * guest-physical address: RSDP -> XSDT -> FADT (full, not hardware-reduced: SCI on IRQ 9, the
 * PM1a event and control blocks and the PM timer of the "acpi-pm" model, kxend/hvm_acpi.h;
 * the fixed power button; no sleep button, no SMI command port: the machine is always in ACPI
 * mode), FACS (no S4BIOS, no global lock), MADT (one local APIC per vCPU, the IOAPIC, IRQ 9
 * level/active-high) and a DSDT with the PCI root bridge and \_S5. Two users: the direct
 * kernel boot writes the image at HVM_ACPI_BASE (hvm_linux.c), and the "fw-cfg" model hands it
 * to SeaBIOS, whose table loader moves it and patches the fields hvm_acpi_pointers[] lists.
 *
 * Why the DSDT has a PCI root bridge: with ACPI, Linux scans PCI only under PNP0A03 devices
 * and routes PCI interrupts only through \_PRT (the $PIR table is then ignored). The \_PRT is
 * static: slot s pin p is wired to PIRQ (s + p) & 3 as the piix3 model wires it, and PIRQ n
 * to the ISA IRQ KXEN_HVM_PIRQ_IRQ(n), the route the toolstack presets in the PIIX3 (and
 * SeaBIOS programs).
 * Why no IRQ0 -> GSI2 override: KVM's default routing, which kxend keeps, wires GSI 0 (the
 * in-kernel PIT) to IOAPIC pin 0; every ISA IRQ is its own GSI.
 * Invariant: an image's tables refer to each other only through the fields listed in
 * hvm_acpi_pointers[], each holding gpa + the target's offset in the image. */
#include <errno.h>
#include <string.h>

#include "acpi_tables.h"
#include "kxen/ctl_hvm.h"
#include "kxend/hvm_acpi.h"

#define XSDT_OFF 0x40u
#define FACS_OFF 0x80u /* 64-byte aligned */
#define FADT_OFF 0x100u
#define MADT_OFF 0x400u
#define DSDT_OFF 0x1000u
#define TABLE_ID "KXENHVM "

#define FADT_LEN 268
#define FADT_REV 5
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed sleep button */
#define FADT_FIX_RTC (1u << 6)    /* set: no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_8042 (1u << 1)
#define BOOT_NO_VGA (1u << 2)
#define RESET_PORT 0xcf9u /* the i8042 model's PIIX reset control */
#define RESET_VALUE 0x06u
#define CMOS_CENTURY 0x32u

#define IOAPIC_ADDR 0xfec00000u
#define LAPIC_ADDR 0xfee00000u
#define MADT_PCAT_COMPAT 1u
#define ISO_LEVEL_HIGH 0x000du /* polarity 01 active high, trigger 11 level */

#define PRT_SLOTS 6 /* 00:01 to 00:06, as the $PIR table lists */

/* FADT fields that hold another table's address. */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_X_DSDT 140
#define XSDT_ENTRY(n) (XSDT_OFF + sizeof(struct acpi_header) + 8 * (n))
#define RSDP_XSDT 24 /* the RSDP's XsdtAddress */

static void fadt_build(uint8_t *f, uint32_t gpa)
{
    acpi_header(f, "FACP", FADT_LEN, FADT_REV, TABLE_ID);
    acpi_put32(f + FADT_FIRMWARE_CTRL, gpa + FACS_OFF);
    acpi_put32(f + FADT_DSDT, gpa + DSDT_OFF);
    acpi_put16(f + 46, ACPI_SCI_IRQ);
    acpi_put32(f + 56, ACPI_PM1A_EVT);
    acpi_put32(f + 64, ACPI_PM1A_CNT);
    acpi_put32(f + 76, ACPI_PM_TMR);
    f[88] = ACPI_PM1_EVT_LEN;
    f[89] = ACPI_PM1_CNT_LEN;
    f[91] = ACPI_PM_TMR_LEN;
    acpi_put16(f + 96, 101);  /* C2 latency > 100: no C2 */
    acpi_put16(f + 98, 1001); /* C3 latency > 1000: no C3 */
    f[108] = CMOS_CENTURY;
    acpi_put16(f + 109, BOOT_LEGACY_DEVICES | BOOT_8042 | BOOT_NO_VGA);
    acpi_put32(f + 112,
               FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_RESET_REG_SUP);
    acpi_gas_io(f + 116, RESET_PORT, 8, 1);
    f[128] = RESET_VALUE;
    acpi_put64(f + FADT_X_DSDT, gpa + DSDT_OFF); /* the X_ blocks stay 0: ACPICA */
    acpi_finish(f, FADT_LEN);                    /* takes the 32-bit ones */
}

static void facs_build(uint8_t *f)
{
    memcpy(f, "FACS", 4);
    acpi_put32(f + 4, 64);
    f[32] = 2; /* version; flags 0: no S4BIOS, no 64-bit wake */
}

static uint32_t madt_build(uint8_t *m, unsigned nr_vcpus)
{
    uint32_t len = ACPI_MADT_HEADER_LEN;
    len += acpi_madt_lapics(m + len, nr_vcpus);
    uint8_t *e = m + len; /* the IOAPIC: id 0 (KVM's), GSIs 0-23 */
    e[0] = 1, e[1] = 12, e[2] = 0, e[3] = 0;
    acpi_put32(e + 4, IOAPIC_ADDR);
    acpi_put32(e + 8, 0);
    len += 12;
    e = m + len; /* interrupt source override: the SCI, ISA IRQ 9, is level and active-high */
    e[0] = 2, e[1] = 10, e[2] = 0, e[3] = ACPI_SCI_IRQ;
    acpi_put32(e + 4, ACPI_SCI_IRQ);
    acpi_put16(e + 8, ISO_LEVEL_HIGH);
    len += 10;
    acpi_header(m, "APIC", len, 3, TABLE_ID);
    acpi_put32(m + 36, LAPIC_ADDR);
    acpi_put32(m + 40, MADT_PCAT_COMPAT);
    acpi_finish(m, len);
    return len;
}

/* ---- the DSDT's AML (ACPI 6.x, 20 "ACPI Machine Language Specification") ---- */

struct aml {
    uint8_t *p;
    size_t len, cap;
};

static void emit(struct aml *a, const void *bytes, size_t n)
{
    if (a->len + n <= a->cap)
        memcpy(a->p + a->len, bytes, n);
    a->len += n; /* past cap: counted, not written; the caller checks */
}

static void emit_byte(struct aml *a, uint8_t b)
{
    emit(a, &b, 1);
}

static void emit_dword(struct aml *a, uint32_t v)
{
    uint8_t b[5] = {0x0c, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    emit(a, b, sizeof(b));
}

/* Opens a PkgLength-prefixed term: reserves 2 bytes for the length (every term here is
 * between 64 bytes and 4 KiB, or is closed with a 1-byte length, see close_pkg). */
static size_t open_pkg(struct aml *a, const void *op, size_t oplen)
{
    emit(a, op, oplen);
    size_t at = a->len;
    emit(a, "\0\0", 2);
    return at;
}

/* Writes the PkgLength at at: one byte below 64, two bytes below 4096. A short term gets
 * its one-byte form by moving its body down one byte. */
static void close_pkg(struct aml *a, size_t at)
{
    if (a->len > a->cap)
        return;
    size_t body = a->len - at - 2;
    if (body + 1 < 0x40) {
        memmove(a->p + at + 1, a->p + at + 2, body);
        a->len--;
        a->p[at] = (uint8_t)(body + 1);
    } else {
        size_t n = body + 2;
        a->p[at] = (uint8_t)(0x40 | (n & 0xf));
        a->p[at + 1] = (uint8_t)(n >> 4);
    }
}

/* Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, 0, GSI }, ... }). */
static void emit_prt(struct aml *a)
{
    emit(a, "\x08_PRT", 5);
    size_t prt = open_pkg(a, "\x12", 1);
    emit_byte(a, PRT_SLOTS * 4);
    for (unsigned slot = 1; slot <= PRT_SLOTS; slot++)
        for (unsigned pin = 0; pin < 4; pin++) {
            size_t e = open_pkg(a, "\x12", 1);
            emit_byte(a, 4);
            emit_dword(a, slot << 16 | 0xffff);
            emit(a, (uint8_t[]){0x0a, (uint8_t)pin, 0x00, 0x0a}, 4);
            emit_byte(a, KXEN_HVM_PIRQ_IRQ((slot + pin) & 3));
            close_pkg(a, e);
        }
    close_pkg(a, prt);
}

/* Word/DWord address space descriptors: a producer window [min, max], fixed both ends. */
static void emit_word_range(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    uint16_t v[5] = {0, min, max, 0, (uint16_t)(max - min + 1)};
    emit(a, (uint8_t[]){0x88, 13, 0, type, 0x0c, tflags}, 6);
    emit(a, v, sizeof(v));
}

static void emit_mem_range(struct aml *a, uint32_t min, uint32_t max)
{
    uint32_t v[5] = {0, min, max, 0, max - min + 1};
    emit(a, (uint8_t[]){0x87, 23, 0, 0, 0x0c, 0x01}, 6); /* memory, read-write */
    emit(a, v, sizeof(v));
}

/* Name (_CRS, ResourceTemplate () {...}): bus 0-255, the config ports, the I/O space but
 * them, the legacy VGA window and the PCI hole (KXEN_HVM_PCI_HOLE up to the IOAPIC). */
static void emit_crs(struct aml *a)
{
    emit(a, "\x08_CRS", 5);
    size_t buf = open_pkg(a, "\x11", 1);
    size_t size_at = a->len;
    emit(a, "\x0a\x00", 2); /* BufferSize, filled below */
    size_t start = a->len;
    emit_word_range(a, 2, 0, 0, 0xff);
    emit(a, "\x47\x01\xf8\x0c\xf8\x0c\x01\x08", 8); /* IO (Decode16, 0xcf8, 0xcf8, 1, 8) */
    emit_word_range(a, 1, 3, 0, 0x0cf7);
    emit_word_range(a, 1, 3, 0x0d00, 0xffff);
    emit_mem_range(a, 0xa0000, 0xbffff);
    emit_mem_range(a, (uint32_t)KXEN_HVM_PCI_HOLE, IOAPIC_ADDR - 1);
    emit(a, "\x79\x00", 2); /* end tag */
    if (a->len <= a->cap)
        a->p[size_at + 1] = (uint8_t)(a->len - start);
    close_pkg(a, buf);
}

static void dsdt_body(struct aml *a)
{
    size_t scope = open_pkg(a, "\x10", 1);
    emit(a, "\\_SB_", 5);
    size_t dev = open_pkg(a, "\x5b\x82", 2);
    emit(a, "PCI0", 4);
    emit(a, "\x08_HID", 5);
    emit_dword(a, 0x030ad041u); /* EisaId ("PNP0A03") */
    emit(a, "\x08_ADR\x00\x08_UID\x00", 12);
    emit_crs(a);
    emit_prt(a);
    close_pkg(a, dev);
    close_pkg(a, scope);
    /* Name (_S5, Package (4) { 5, 5, 0, 0 }): PM1a and PM1b SLP_TYP for soft off. */
    emit(a,
         (uint8_t[]){0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, ACPI_S5_SLP_TYP, 0x0a,
                     ACPI_S5_SLP_TYP, 0x00, 0x00},
         14);
}

const struct hvm_acpi_pointer hvm_acpi_pointers[] = {
    {HVM_ACPI_RSDP, RSDP_XSDT, 8},       {XSDT_OFF, XSDT_ENTRY(0), 8},
    {XSDT_OFF, XSDT_ENTRY(1), 8},        {FADT_OFF, FADT_OFF + FADT_FIRMWARE_CTRL, 4},
    {FADT_OFF, FADT_OFF + FADT_DSDT, 4}, {FADT_OFF, FADT_OFF + FADT_X_DSDT, 8},
};
const unsigned hvm_acpi_nr_pointers = sizeof(hvm_acpi_pointers) / sizeof(hvm_acpi_pointers[0]);

int hvm_acpi_build(uint8_t *t, size_t cap, uint32_t gpa, unsigned nr_vcpus)
{
    if (nr_vcpus == 0 || nr_vcpus > ACPI_MAX_VCPUS)
        return -EINVAL;
    if (cap < DSDT_OFF + sizeof(struct acpi_header))
        return -E2BIG;
    if (cap > HVM_ACPI_IMAGE_MAX)
        cap = HVM_ACPI_IMAGE_MAX;
    memset(t, 0, cap);
    struct aml a = {.p = t + DSDT_OFF + sizeof(struct acpi_header),
                    .cap = cap - DSDT_OFF - sizeof(struct acpi_header)};
    dsdt_body(&a);
    if (a.len > a.cap)
        return -E2BIG;
    uint32_t dsdt_len = (uint32_t)(sizeof(struct acpi_header) + a.len);
    acpi_header(t + DSDT_OFF, "DSDT", dsdt_len, 2, TABLE_ID);
    acpi_finish(t + DSDT_OFF, dsdt_len);
    facs_build(t + FACS_OFF);
    fadt_build(t + FADT_OFF, gpa);
    _Static_assert(MADT_OFF + ACPI_MADT_HEADER_LEN + ACPI_MADT_LAPIC_LEN * ACPI_MAX_VCPUS + 22 <=
                       DSDT_OFF,
                   "the MADT of the largest domain ends before the DSDT");
    madt_build(t + MADT_OFF, nr_vcpus);
    const uint64_t tables[2] = {(uint64_t)gpa + FADT_OFF, (uint64_t)gpa + MADT_OFF};
    _Static_assert(XSDT_OFF + sizeof(struct acpi_header) + sizeof(tables) <= FACS_OFF,
                   "the XSDT ends before the FACS");
    acpi_root(t, gpa, XSDT_OFF, TABLE_ID, tables, 2);
    return (int)(DSDT_OFF + dsdt_len);
}
